"""xAPI: the statement outbox: put statements in, retry parked ones, count them.

Statements join the outbox inside the caller's transaction (so an event and its
statement commit together); delivery is kicked after commit (``xapi.delivery``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from lti_tool.infra.audit import record_audit
from lti_tool.infra.db import utcnow
from lti_tool.infra.models import Person
from xapi import kicks
from xapi.core import formats, validation
from xapi.core import statements as st
from xapi.identity import actor_for_person
from xapi.models import (
    OUTBOX_CONFLICT,
    OUTBOX_PARKED,
    OUTBOX_PENDING,
    OUTBOX_STATUSES,
    OutboxStatement,
)


def enqueue_statement(
    session: Session,
    *,
    tenant_id: int,
    statement: Mapping[str, Any],
    person_id: int | None = None,
) -> OutboxStatement:
    """Put a statement in the outbox, inside the caller's transaction.

    Idempotent on the statement id (deterministic ids make a replayed event a no-op).
    Delivery is kicked off after the caller commits; nothing fails without an LRS.
    """
    problems = validation.validate_statement(statement)
    if problems:
        raise ValueError("invalid statement: " + "; ".join(problems))
    existing = _outbox_entry(session, str(statement["id"]))
    if existing is not None:
        return existing
    return _add_to_outbox(
        session, tenant_id=tenant_id, statement=statement, person_id=person_id
    )


def _outbox_entry(session: Session, statement_id: str) -> OutboxStatement | None:
    return session.scalars(
        select(OutboxStatement).where(OutboxStatement.statement_id == statement_id)
    ).first()


def _add_to_outbox(
    session: Session,
    *,
    tenant_id: int,
    statement: Mapping[str, Any],
    person_id: int | None,
) -> OutboxStatement:
    """Insert a validated statement not yet in the outbox; kick delivery after commit."""
    statement_id = str(statement["id"])
    verb_iri = str(statement["verb"]["id"])
    row = OutboxStatement(
        tenant_id=tenant_id,
        person_id=person_id,
        statement_id=statement_id,
        verb=verb_iri.rsplit("/", 1)[-1][:40],
        body=formats.serialize(statement),
        status=OUTBOX_PENDING,
        next_attempt_at=utcnow(),
    )
    session.add(row)
    session.flush()
    kicks.deliver_after_commit(session)
    return row


def emit_statement(
    session: Session,
    *,
    person: Person,
    key: str,
    verb: str,
    object: st.ActivityRef,
    timestamp: dt.datetime,
    result: st.ResultSpec | None = None,
    registration: str | None = None,
    course: st.ActivityRef | None = None,
    parent: st.ActivityRef | None = None,
    context_extensions: Mapping[str, Any] | None = None,
    new_event: bool = False,
) -> OutboxStatement:
    """Build one of our profile's statements for ``person`` and put it in the outbox.

    ``key`` names the event (e.g. ``"answer:123"``): the same key gives the same
    statement id, so emitting twice is harmless (and costs one lookup, no building).
    ``new_event`` says the key names a row the caller has just inserted (its id is
    new), so there is nothing to look up; the outbox's unique statement id still
    refuses a second copy at commit.
    """
    if not new_event:
        existing = _outbox_entry(session, formats.statement_uuid(key))
        if existing is not None:
            return existing
    spec = st.StatementSpec(
        key=key,
        actor=actor_for_person(session, person=person),
        verb=verb,
        object=object,
        timestamp=timestamp,
        result=result,
        registration=registration,
        course=course,
        parent=parent,
        context_extensions=dict(context_extensions or {}),
    )
    # build_statement validates what it builds; the lookup above was the only one.
    return _add_to_outbox(
        session,
        tenant_id=person.tenant_id,
        statement=st.build_statement(spec),
        person_id=person.id,
    )


def retry_parked(session: Session, *, actor: str, tenant_id: int | None = None) -> int:
    """Send parked (and conflicting) statements again, e.g. after fixing the LRS."""
    query = update(OutboxStatement).where(
        OutboxStatement.status.in_((OUTBOX_PARKED, OUTBOX_CONFLICT))
    )
    if tenant_id is not None:
        query = query.where(OutboxStatement.tenant_id == tenant_id)
    result = session.execute(
        query.values(status=OUTBOX_PENDING, next_attempt_at=utcnow(), attempts=0)
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    record_audit(
        session,
        actor=actor,
        action="xapi.outbox.retry_parked",
        target=f"tenant:{tenant_id}" if tenant_id is not None else "all",
        tenant_id=tenant_id,
        details={"statements": count},
    )
    session.flush()
    if count:
        kicks.deliver_after_commit(session)
    return count


def outbox_counts(session: Session, *, tenant_id: int | None = None) -> dict[str, int]:
    query = select(OutboxStatement.status, func.count()).group_by(
        OutboxStatement.status
    )
    if tenant_id is not None:
        query = query.where(OutboxStatement.tenant_id == tenant_id)
    counts = dict.fromkeys(OUTBOX_STATUSES, 0)
    for status, count in session.execute(query):
        counts[str(status)] = int(count)
    return counts


def outbox_problems(
    session: Session, *, tenant_id: int | None = None, limit: int = 200
) -> list[OutboxStatement]:
    """Parked, conflicting and retrying statements, newest first (console)."""
    query = (
        select(OutboxStatement)
        .where(
            or_(
                OutboxStatement.status.in_((OUTBOX_PARKED, OUTBOX_CONFLICT)),
                (OutboxStatement.status == OUTBOX_PENDING)
                & (OutboxStatement.attempts > 0),
            )
        )
        .order_by(OutboxStatement.id.desc())
        .limit(limit)
    )
    if tenant_id is not None:
        query = query.where(OutboxStatement.tenant_id == tenant_id)
    return list(session.scalars(query))
