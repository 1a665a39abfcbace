"""Shared infrastructure: the people directory's identities, one normal form for all.

An HR import, the LMS roster, a launch and an incoming xAPI statement all name
people; they find the same directory entry only if they write emails and accounts
the same way. This module is that one way, and the lookups built on it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from lti_tool.infra.models import (
    IDENTITY_ACCOUNT,
    IDENTITY_MBOX,
    IDENTITY_MBOX_SHA1,
    Person,
    PersonIdentity,
)

# Deliberately loose: one @, no spaces; the LMS and HR systems are the authority.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
# Actor-key prefixes (``xapi.core.actors.actor_key``) per identity kind.
KEY_PREFIX = {IDENTITY_ACCOUNT: "account:", IDENTITY_MBOX: "mbox:"}
KEY_PREFIX[IDENTITY_MBOX_SHA1] = "sha1:"


def normalise_email(text: str) -> str | None:
    """The lower-cased address without ``mailto:``, or None when it is not one."""
    value = text.strip().lower()
    if value.startswith("mailto:"):
        value = value[len("mailto:") :]
    return value if _EMAIL.match(value) else None


def mbox_value(email: str) -> str:
    """The xAPI ``mbox`` of a normalised email."""
    return "mailto:" + email


def sha1_value(email: str) -> str:
    """The xAPI ``mbox_sha1sum`` of a normalised email."""
    return hashlib.sha1(mbox_value(email).encode()).hexdigest()  # noqa: S324 - xAPI IFI


def account_value(home_page: str, name: str) -> str:
    """An account as stored: ``homePage|name``, the homePage without trailing slash."""
    return f"{home_page.strip().rstrip('/')}|{name.strip()}"


def email_identities(email: str) -> list[tuple[str, str]]:
    """The two identities an email gives: its mbox and its mbox_sha1sum."""
    return [(IDENTITY_MBOX, mbox_value(email)), (IDENTITY_MBOX_SHA1, sha1_value(email))]


def identity_key(kind: str, value: str) -> str:
    """The actor key (as incoming statements are keyed) of a stored identity."""
    return KEY_PREFIX[kind] + value


def normalise_actor_key(key: str) -> str:
    """An incoming actor key in the directory's form (account homePage sans slash)."""
    if key.startswith("account:"):
        home, _, name = key[len("account:") :].rpartition("|")
        return "account:" + account_value(home, name)
    return key


def directory_keys(
    session: Session, tenant_id: int, *, kinds: Iterable[str]
) -> dict[str, int]:
    """Actor key -> person id for every listed identity of the given kinds.

    Emails on people rows (from launches) count as mbox and mbox_sha1sum identities
    too, so a launched person is found by email without an identity row.
    """
    wanted = set(kinds)
    out: dict[str, int] = {}
    if wanted & {IDENTITY_MBOX, IDENTITY_MBOX_SHA1}:
        for person_id, raw in session.execute(
            select(Person.id, Person.email).where(
                Person.tenant_id == tenant_id, Person.email.is_not(None)
            )
        ):
            email = normalise_email(str(raw))
            if email is None:
                continue
            for kind, value in email_identities(email):
                if kind in wanted:
                    out[identity_key(kind, value)] = int(person_id)
    for person_id, kind, value in session.execute(
        select(PersonIdentity.person_id, PersonIdentity.kind, PersonIdentity.value)
        .where(PersonIdentity.tenant_id == tenant_id)
        .where(PersonIdentity.kind.in_(sorted(wanted)))
    ):
        out[identity_key(str(kind), str(value))] = int(person_id)
    return out


def person_identities(session: Session, person: Person) -> list[tuple[str, str]]:
    """A person's listed identities (kind, value), their own email's included."""
    found: list[tuple[str, str]] = []
    email = normalise_email(person.email) if person.email else None
    if email is not None:
        found.extend(email_identities(email))
    for kind, value in session.execute(
        select(PersonIdentity.kind, PersonIdentity.value)
        .where(PersonIdentity.person_id == person.id)
        .order_by(PersonIdentity.id)
    ):
        if (str(kind), str(value)) not in found:
            found.append((str(kind), str(value)))
    return found


def find_unlaunched(
    session: Session,
    tenant_id: int,
    *,
    email: str | None,
    external_id: str | None,
) -> Person | None:
    """The directory entry a first launch belongs to: no LMS account yet, found by
    email (its own or a listed one), else by the organisation's external id."""
    normal = normalise_email(email) if email else None
    if normal is not None:
        listed = select(PersonIdentity.person_id).where(
            PersonIdentity.tenant_id == tenant_id,
            PersonIdentity.kind == IDENTITY_MBOX,
            PersonIdentity.value == mbox_value(normal),
        )
        person = session.scalars(
            select(Person)
            .where(
                Person.tenant_id == tenant_id,
                Person.sub.is_(None),
                or_(func.lower(Person.email) == normal, Person.id.in_(listed)),
            )
            .order_by(Person.id)
            .limit(1)
        ).first()
        if person is not None:
            return person
    if external_id:
        return session.scalars(
            select(Person).where(
                Person.tenant_id == tenant_id,
                Person.sub.is_(None),
                Person.external_id == external_id,
            )
        ).first()
    return None


def add_identity(session: Session, person: Person, kind: str, value: str) -> bool:
    """List an identity for a person unless the tenant already has it (True if added)."""
    taken = session.scalar(
        select(PersonIdentity.person_id).where(
            PersonIdentity.tenant_id == person.tenant_id,
            PersonIdentity.kind == kind,
            PersonIdentity.value == value,
        )
    )
    if taken is not None:
        return False
    session.add(
        PersonIdentity(
            tenant_id=person.tenant_id, person_id=person.id, kind=kind, value=value
        )
    )
    return True
