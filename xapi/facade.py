"""xAPI: the LRS facade external content talks to: its credential and its statements.

External xAPI content runs in the learner's browser, so it must never hold the
organisation's LRS credentials. It gets a short-lived credential bound to one
tenant, learner, launch, registration and activity instead; what it sends is
judged here (``xapi.core.content``) and forwarded through the outbox. What it saves
to resume (the State API) is in ``xapi.content_state``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jwt
from sqlalchemy import select
from sqlalchemy.orm import Session

from xapi.core import formats
from xapi.core.content import Refusal, judge_content_statement
from xapi.core.statements import is_own_statement
from xapi.models import OutboxStatement
from xapi.outbox import enqueue_statement

_GRANT_TYPE = "pathwise-xapi-content"
# The Basic user name of the credential; its password is the signed grant.
BASIC_USER = "pathwise"
# Statements the facade lists at most in one GET (content reads its own few).
LIST_LIMIT = 100


class FacadeRefused(Exception):
    """A request the facade refuses: HTTP status, a stable code and a sentence."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    @classmethod
    def of(cls, refusal: Refusal) -> FacadeRefused:
        return cls(refusal.status, refusal.code, refusal.message)


@dataclass(frozen=True)
class ContentGrant:
    """What one content credential allows: one learner's sitting of one activity."""

    tenant_id: int
    person_id: int
    launch_id: int
    registration: str
    activity_iri: str
    activity_key: str
    expires_at: dt.datetime


def issue_content_auth(
    *, secret_key: str, grant: ContentGrant, now: dt.datetime
) -> str:
    """The launch's ``auth`` value: ``Basic`` with the signed grant as the password.

    Basic, not Bearer, because content passes ``auth`` verbatim as its
    Authorization header and every xAPI library knows Basic.
    """
    token = jwt.encode(
        {
            "typ": _GRANT_TYPE,
            "tid": grant.tenant_id,
            "pid": grant.person_id,
            "lid": grant.launch_id,
            "reg": grant.registration,
            "act": grant.activity_iri,
            "key": grant.activity_key,
            "iat": int(now.timestamp()),
            "exp": int(grant.expires_at.timestamp()),
        },
        secret_key,
        algorithm="HS256",
    )
    raw = f"{BASIC_USER}:{token}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def read_content_auth(*, secret_key: str, header: str) -> ContentGrant:
    """The grant an Authorization header carries (Basic as issued, or Bearer).

    Raises:
        FacadeRefused: 401 ``no_credential``, ``bad_credential`` or
        ``credential_expired``.
    """
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if not value:
        raise FacadeRefused(401, "no_credential", "Send the launch's auth header.")
    token = value
    if scheme.lower() == "basic":
        try:
            user, _, token = (
                base64.b64decode(value, validate=True).decode().partition(":")
            )
        except (binascii.Error, UnicodeDecodeError):
            raise FacadeRefused(
                401, "bad_credential", "This credential is not ours."
            ) from None
        if user != BASIC_USER:
            raise FacadeRefused(401, "bad_credential", "This credential is not ours.")
    elif scheme.lower() != "bearer":
        raise FacadeRefused(401, "no_credential", "Send the launch's auth header.")
    try:
        claims = jwt.decode(token, secret_key, algorithms=["HS256"])
    except jwt.ExpiredSignatureError:
        raise FacadeRefused(
            401, "credential_expired", "This launch has expired: open it again."
        ) from None
    except jwt.InvalidTokenError:
        raise FacadeRefused(
            401, "bad_credential", "This credential is not ours."
        ) from None
    if claims.get("typ") != _GRANT_TYPE:
        raise FacadeRefused(401, "bad_credential", "This credential is not ours.")
    try:
        return ContentGrant(
            tenant_id=int(claims["tid"]),
            person_id=int(claims["pid"]),
            launch_id=int(claims["lid"]),
            registration=str(claims["reg"]),
            activity_iri=str(claims["act"]),
            activity_key=str(claims["key"]),
            expires_at=dt.datetime.fromtimestamp(int(claims["exp"]), dt.UTC),
        )
    except (KeyError, TypeError, ValueError):
        raise FacadeRefused(
            401, "bad_credential", "This credential is not ours."
        ) from None


# ------------------------------------------------------------------ statements


def forward_statements(
    session: Session,
    grant: ContentGrant,
    *,
    actor: Mapping[str, Any],
    statements: Sequence[Any],
    statement_id: str | None = None,
) -> list[dict[str, Any]]:
    """Judge the content's statements and put the accepted ones in the outbox.

    All or nothing, as an LRS takes a batch: one refused statement refuses the
    request. A statement without an id gets one (as an LRS would); a statement
    already forwarded is accepted again when it is the same, and is a 409 when
    another statement has its id.

    Returns:
        The statements as forwarded (with their ids), in order.

    Raises:
        FacadeRefused: 400 (invalid), 403 (another actor or registration),
        409 (the id names a different statement).
    """
    ready: list[dict[str, Any]] = []
    for raw in statements:
        if not isinstance(raw, dict):
            raise FacadeRefused(400, "invalid_statement", "A statement is an object.")
        statement = dict(raw)
        if statement_id is not None:
            given = statement.get("id")
            if given is not None and str(given).lower() != statement_id.lower():
                raise FacadeRefused(
                    400, "id_mismatch", "The statementId and the statement's id differ."
                )
            statement["id"] = statement_id
        statement.setdefault("id", str(uuid.uuid4()))
        if isinstance(statement["id"], str):
            statement["id"] = statement["id"].lower()
        refusal = judge_content_statement(
            statement, actor=actor, registration=grant.registration
        )
        if refusal is not None:
            raise FacadeRefused.of(refusal)
        # UUIDs are case-blind; one spelling keeps ids and registrations comparable.
        statement["context"] = {
            **statement["context"],
            "registration": grant.registration,
        }
        ready.append(statement)
    ids = [str(s["id"]) for s in ready]
    if len(set(ids)) != len(ids):
        raise FacadeRefused(400, "duplicate_id", "Two statements share one id.")
    for statement in ready:
        existing = session.scalars(
            select(OutboxStatement).where(
                OutboxStatement.statement_id == statement["id"]
            )
        ).first()
        if existing is None:
            enqueue_statement(
                session,
                tenant_id=grant.tenant_id,
                statement=statement,
                person_id=grant.person_id,
            )
        elif (
            existing.person_id != grant.person_id
            or existing.body != formats.serialize(statement)
        ):
            raise FacadeRefused(
                409, "conflict", "Another statement already has this id."
            )
    return ready


def forwarded_statements(
    session: Session, grant: ContentGrant, *, statement_id: str | None = None
) -> list[dict[str, Any]]:
    """The statements this learner's sitting sent through the facade (newest first).

    Read from the outbox, not the organisation's LRS: content sees only what it
    was itself allowed to write, under this registration (Pathwise's own
    statements share the registration, and are left out).
    """
    query = select(OutboxStatement).where(
        OutboxStatement.tenant_id == grant.tenant_id,
        OutboxStatement.person_id == grant.person_id,
        # The canonical text is compact: a cheap filter before each body is read.
        OutboxStatement.body.contains(f'"registration":"{grant.registration}"'),
    )
    if statement_id is not None:
        query = query.where(OutboxStatement.statement_id == statement_id.lower())
    found = []
    for row in session.scalars(query.order_by(OutboxStatement.id.desc())):
        body = json.loads(row.body)
        context = body.get("context") or {}
        if context.get("registration") != grant.registration or is_own_statement(body):
            continue
        found.append(body)
        if len(found) >= LIST_LIMIT:
            break
    return found
