"""LTI protocol: the grade outbox: put a learner's newest score in, retry, report status.

A score joins the outbox inside the caller's transaction and replaces the pending
one for the same learner and link (only the newest is sent); delivery is kicked
after commit (``lti_tool.lti.grade_delivery``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lti_tool.infra.audit import record_audit
from lti_tool.infra.models import Person, ResourceLink
from lti_tool.infra.tenancy import owned_by_scope
from lti_tool.lti.grade_kicks import deliver_grades_after_commit
from lti_tool.lti.grade_models import (
    GRADE_FAILING,
    GRADE_PENDING,
    GRADE_SENT,
    GRADE_STATUSES,
    GradeOutboxEntry,
)

COMMENT_MAX_CHARS = 1000


@dataclass(frozen=True)
class GradeStatus:
    """What the instructor page shows for one learner's grade on this link."""

    person_id: int
    state: str  # "sent", "pending" or "failing"
    progress: float
    completed: bool
    answer: str
    attempts: int
    sent_at: dt.datetime | None


def grades_offered(link: ResourceLink | None) -> bool:
    """Does this link's last launch carry an AGS claim that lets us post scores?"""
    endpoint = link.ags_endpoint if link is not None else None
    if not isinstance(endpoint, dict):
        return False
    scopes = endpoint.get("scope")
    return isinstance(scopes, list) and any(
        isinstance(s, str) and s.endswith("/scope/score") for s in scopes
    )


def enqueue_grade(
    session: Session,
    *,
    person: Person,
    resource_link: ResourceLink,
    progress: float,
    completed: bool,
    comment: str,
    now: dt.datetime,
) -> GradeOutboxEntry | None:
    """Put the learner's newest score for this link in the outbox (replacing a pending one).

    Returns None when the link offers no grade service or the person has no LMS
    account yet. The same score again is a
    no-op, so a relaunch does not resend it; a new score during an LMS outage waits
    for the current backoff instead of hammering the LMS.
    """
    if not grades_offered(resource_link) or person.sub is None:
        # No grade service, or a directory person the LMS has not launched yet: the
        # LMS's gradebook has no user to give a score to.
        return None
    progress = min(max(float(progress), 0.0), 1.0)
    comment = comment[:COMMENT_MAX_CHARS]
    entry = _entry(session, person.id, resource_link.id)
    if entry is None:
        entry = GradeOutboxEntry(
            tenant_id=person.tenant_id,
            person_id=person.id,
            resource_link_pk=resource_link.id,
            user_id=person.sub,
            progress=progress,
            completed=completed,
            comment=comment,
            version=1,
            sent_version=0,
            status=GRADE_PENDING,
            attempts=0,
            last_error="",
            next_attempt_at=now,
            updated_at=now,
        )
        try:
            with session.begin_nested():
                session.add(entry)
        except IntegrityError:
            # The same learner's other request inserted it first: update that one.
            entry = _entry(session, person.id, resource_link.id)
            if entry is None:
                raise
        else:
            deliver_grades_after_commit(session)
            return entry
    same = (
        abs(entry.progress - progress) < 1e-9
        and entry.completed == completed
        and entry.comment == comment
    )
    if same and entry.status != GRADE_FAILING:
        return entry
    entry.progress, entry.completed, entry.comment = progress, completed, comment
    entry.user_id = person.sub
    entry.version += 1
    entry.updated_at = now
    # A pending row due later with no attempt yet is leased by a sender (or waits
    # out a released claim): moving it to now would let a second sender post the
    # older and newer score at once. Its sender's outcome makes the new version due.
    leased = (
        entry.status == GRADE_PENDING
        and entry.attempts == 0
        and entry.next_attempt_at > now
    )
    if entry.status == GRADE_FAILING or (entry.attempts == 0 and not leased):
        entry.attempts = 0
        entry.next_attempt_at = now
    entry.status = GRADE_PENDING
    session.flush()
    deliver_grades_after_commit(session)
    return entry


def _entry(
    session: Session, person_id: int, resource_link_pk: int
) -> GradeOutboxEntry | None:
    return session.scalar(
        select(GradeOutboxEntry).where(
            GradeOutboxEntry.person_id == person_id,
            GradeOutboxEntry.resource_link_pk == resource_link_pk,
        )
    )


def retry_grade(
    session: Session,
    *,
    actor: str,
    tenant_id: int,
    resource_link_pk: int,
    person_id: int,
    now: dt.datetime,
) -> bool:
    """Send a learner's grade on this link again now (an instructor's retry), audited.

    Returns False when there is no grade to send for them in this tenant and link.
    """
    entry = session.scalar(
        select(GradeOutboxEntry).where(
            owned_by_scope(GradeOutboxEntry.tenant_id, tenant_id),
            GradeOutboxEntry.person_id == person_id,
            GradeOutboxEntry.resource_link_pk == resource_link_pk,
        )
    )
    if entry is None:
        return False
    previous = entry.status
    if entry.status != GRADE_SENT or entry.sent_version < entry.version:
        entry.status = GRADE_PENDING
    else:
        # A sent grade is sent once more, as a new score (with a later timestamp).
        entry.version += 1
        entry.status = GRADE_PENDING
    entry.attempts = 0
    entry.next_attempt_at = now
    record_audit(
        session,
        actor=actor,
        action="grades.retry",
        target=f"person:{person_id}",
        tenant_id=tenant_id,
        details={
            "resource_link_pk": resource_link_pk,
            "previous_status": previous,
            "last_status": entry.last_status,
        },
        at=now,
    )
    session.flush()
    deliver_grades_after_commit(session)
    return True


def grade_statuses(
    session: Session, *, tenant_id: int, resource_link_pk: int
) -> dict[int, GradeStatus]:
    """Per learner on this link: sent, pending or failing (with the LMS's answer)."""
    rows = session.scalars(
        select(GradeOutboxEntry).where(
            owned_by_scope(GradeOutboxEntry.tenant_id, tenant_id),
            GradeOutboxEntry.resource_link_pk == resource_link_pk,
        )
    )
    out: dict[int, GradeStatus] = {}
    for row in rows:
        if row.status == GRADE_SENT:
            state = "sent"
        elif row.status == GRADE_FAILING or row.attempts > 0:
            state = "failing"
        else:
            state = "pending"
        out[row.person_id] = GradeStatus(
            person_id=row.person_id,
            state=state,
            progress=row.progress,
            completed=row.completed,
            answer=row.last_error,
            attempts=row.attempts,
            sent_at=row.sent_at,
        )
    return out


def grade_counts(session: Session, *, tenant_id: int | None = None) -> dict[str, int]:
    """Rows per state (``pathwise grades status``); all tenants when ``tenant_id`` is None."""
    query = select(GradeOutboxEntry.status, func.count()).group_by(
        GradeOutboxEntry.status
    )
    if tenant_id is not None:
        query = query.where(owned_by_scope(GradeOutboxEntry.tenant_id, tenant_id))
    counts = dict.fromkeys(GRADE_STATUSES, 0)
    for status, count in session.execute(query):
        counts[str(status)] = int(count)
    return counts


def grade_problems(
    session: Session, *, tenant_id: int | None = None, limit: int = 200
) -> list[GradeOutboxEntry]:
    """Failing grades and those being retried, most recently changed first."""
    query = (
        select(GradeOutboxEntry)
        .where(
            or_(
                GradeOutboxEntry.status == GRADE_FAILING,
                (GradeOutboxEntry.status == GRADE_PENDING)
                & (GradeOutboxEntry.attempts > 0),
            )
        )
        .order_by(GradeOutboxEntry.updated_at.desc(), GradeOutboxEntry.id.desc())
        .limit(limit)
    )
    if tenant_id is not None:
        query = query.where(owned_by_scope(GradeOutboxEntry.tenant_id, tenant_id))
    return list(session.scalars(query))
