"""xAPI: who a tenant and its people are to an LRS: identity, sending connection, actor.

Read on every launch and every emitted statement, so it is cached per configuration
revision (exact: a changed connection or registration moves the stamp).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnExpressionArgument, Exists, select
from sqlalchemy.orm import Session

from lti_tool.infra import revision
from lti_tool.infra.directory import (
    directory_keys,
    identity_key,
    normalise_actor_key,
    person_identities,
)
from lti_tool.infra.models import (
    IDENTITY_ACCOUNT,
    IDENTITY_MBOX,
    IDENTITY_MBOX_SHA1,
    Deployment,
    Person,
    Registration,
)
from xapi.core import actors
from xapi.models import (
    ACTOR_MBOX,
    MATCH_ACCOUNT,
    MATCH_ALL,
    MATCH_EMAIL,
    LrsConnection,
    UnmatchedActor,
)

# Read on every launch and every emitted statement; exact via the revision stamp.
_TENANT_CONFIG = revision.RevisionCache(revision.CONFIG, size=4096)


def tenant_identity(session: Session, tenant_id: int) -> tuple[str, str]:
    def read() -> tuple[str, str]:
        row = session.execute(
            select(Registration.issuer, Deployment.deployment_id)
            .join(Deployment, Deployment.registration_id == Registration.id)
            .where(Deployment.id == tenant_id)
        ).one()
        return str(row[0]), str(row[1])

    return _TENANT_CONFIG.get(session, ("identity", tenant_id), read)


def active_connections(session: Session, tenant_id: int) -> list[LrsConnection]:
    return revision.cached_rows(
        _TENANT_CONFIG,
        session,
        ("connections", tenant_id),
        lambda: session.scalars(
            select(LrsConnection)
            .where(LrsConnection.tenant_id == tenant_id, LrsConnection.active.is_(True))
            .order_by(LrsConnection.id)
        ).all(),
    )


def sending_connection(session: Session, *, tenant_id: int) -> LrsConnection | None:
    """The connection our statements go to: the tenant's oldest active sending one."""
    return next(
        (c for c in active_connections(session, tenant_id) if c.send_statements),
        None,
    )


def has_sending_connection(tenant_id: ColumnExpressionArgument[int]) -> Exists:
    """SQL: the tenant in ``tenant_id`` has a connection ``sending_connection`` finds."""
    return (
        select(LrsConnection.id)
        .where(
            LrsConnection.tenant_id == tenant_id,
            LrsConnection.active.is_(True),
            LrsConnection.send_statements.is_(True),
        )
        .exists()
    )


def actor_for_person(
    session: Session, *, person: Person, connection: LrsConnection | None = None
) -> dict[str, Any]:
    """The xAPI actor for a person, per the (sending) connection's actor mode.

    A directory entry without an LMS account yet is named by email.
    """
    if not person.sub and not person.email:
        raise ValueError(f"person {person.id} has neither an LMS account nor an email")
    issuer, deployment_id = tenant_identity(session, person.tenant_id)
    if connection is None:
        connection = sending_connection(session, tenant_id=person.tenant_id)
    identity = actors.Identity(
        issuer=issuer,
        deployment_id=deployment_id,
        sub=person.sub or "",
        email=person.email,
        name=person.display_name,
    )
    by_email = not person.sub
    if connection is None:
        return actors.build_actor(identity, mode="mbox" if by_email else "account")
    return actors.build_actor(
        identity,
        mode="mbox" if by_email or connection.actor_mode == ACTOR_MBOX else "account",
        include_deployment=connection.home_page_includes_deployment,
        home_page=connection.home_page_override,
    )


def matched_kinds(connection: LrsConnection) -> tuple[bool, bool]:
    """Whether a connection matches statements on accounts, and on emails."""
    mode = connection.match_on
    return mode in (MATCH_ALL, MATCH_ACCOUNT), mode in (MATCH_ALL, MATCH_EMAIL)


def listed_kinds(connection: LrsConnection) -> tuple[str, ...]:
    """The directory identity kinds a connection matches statements on."""
    accounts, emails = matched_kinds(connection)
    kinds: tuple[str, ...] = (IDENTITY_ACCOUNT,) if accounts else ()
    return kinds + ((IDENTITY_MBOX, IDENTITY_MBOX_SHA1) if emails else ())


def person_actor_keys(
    session: Session, connection: LrsConnection, person: Person
) -> list[str]:
    """Every actor key a connection's statements may name this person by.

    The LMS account first (when they have one), then their emails (mbox, then
    mbox_sha1sum) and other systems' accounts from the directory, as far as the
    connection's ``match_on`` allows.
    """
    match_accounts, _ = matched_kinds(connection)
    keys: list[str] = []
    if match_accounts and person.sub:
        issuer, deployment_id = tenant_identity(session, person.tenant_id)
        home = actors.account_home_page(
            issuer,
            deployment_id,
            include_deployment=connection.home_page_includes_deployment,
            override=connection.home_page_override,
        )
        keys.append(f"account:{home}|{person.sub}")
    allowed = set(listed_kinds(connection))
    for kind, value in person_identities(session, person):
        key = identity_key(kind, value)
        if kind in allowed and key not in keys:
            keys.append(key)
    return keys


def people_with_unmatched_statements(
    session: Session, tenant_id: int, person_ids: Iterable[int]
) -> list[int]:
    """Of these people, those an LRS already sent statements for while they were
    unknown (``UnmatchedActor``): a pull by their identities brings those in."""
    wanted = set(person_ids)
    if not wanted:
        return []
    found: set[int] = set()
    for connection in active_connections(session, tenant_id):
        unknown = session.scalars(
            select(UnmatchedActor.actor_key).where(
                UnmatchedActor.connection_id == connection.id
            )
        ).all()
        if not unknown:
            continue
        keys = directory_keys(session, tenant_id, kinds=listed_kinds(connection))
        if matched_kinds(connection)[0]:
            issuer, deployment_id = tenant_identity(session, tenant_id)
            home = actors.account_home_page(
                issuer,
                deployment_id,
                include_deployment=connection.home_page_includes_deployment,
                override=connection.home_page_override,
            )
            for person_id, sub in session.execute(
                select(Person.id, Person.sub).where(
                    Person.tenant_id == tenant_id, Person.sub.is_not(None)
                )
            ):
                keys[normalise_actor_key(f"account:{home}|{sub}")] = int(person_id)
        for key in unknown:
            owner = keys.get(normalise_actor_key(str(key)))
            if owner is not None and owner in wanted:
                found.add(owner)
    return sorted(found)
