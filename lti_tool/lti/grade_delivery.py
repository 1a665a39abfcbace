"""LTI protocol: delivering the grade outbox to the LMS (AGS), with backoff and timestamps.

Delivery runs in three short steps so no database lock is held while the LMS is
called: *claim* due rows (leased, each given its timestamp), *send* them, *record*
what happened. Every score for one (learner, line item) carries a timestamp at
least one whole second after the previous one sent or tried, because Moodle
answers 409 to a timestamp that is not later (in seconds) than the last one, and a
timed-out score may still have been recorded.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from dataclasses import dataclass, field
from typing import Any

from pylti1p3.registration import Registration as LtiRegistration
from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive.models import Module
from lti_tool.infra.models import Deployment, Registration, ResourceLink
from lti_tool.infra.store import ExpiringStore
from lti_tool.lti.ags_client import (
    AgsClient,
    AgsError,
    AgsUnavailable,
    CachedTokenConnector,
    LineItemRef,
    ScoreBody,
)
from lti_tool.lti.grade_models import (
    GRADE_FAILING,
    GRADE_PENDING,
    GRADE_SENT,
    GradeLineItem,
    GradeOutboxEntry,
)
from lti_tool.lti.grade_outbox import grades_offered
from lti_tool.lti.tool_conf import to_lti_registration

log = logging.getLogger(__name__)

GRADE_BASE_BACKOFF_S = 5.0
# An LMS back after an hour's outage gets every score within ten minutes.
GRADE_MAX_BACKOFF_S = 600.0
# A claimed row is left alone this long: longer than a claim's calls can take.
CLAIM_LEASE_S = 300.0
LINEITEM_TAG = "pathwise-progress"


@dataclass
class DeliveryLimits:
    timeout_s: float = 10.0


limits = DeliveryLimits()


def configure_grade_delivery(*, timeout_s: float) -> None:
    """Set the process-wide AGS call timeout (the composition root calls this)."""
    limits.timeout_s = timeout_s


def grade_backoff(attempts: int, rng: random.Random | None = None) -> float:
    """Seconds before the next try: exponential, jittered, capped at ten minutes."""
    cap = min(GRADE_MAX_BACKOFF_S, GRADE_BASE_BACKOFF_S * 2 ** max(0, attempts - 1))
    return (rng or random).uniform(cap / 2, cap)  # noqa: S311 - jitter, not crypto


@dataclass(frozen=True)
class ClaimedGrade:
    """One score on its way to the LMS, with everything the call needs."""

    entry_id: int
    version: int
    registration_id: int
    resource_link_pk: int
    resource_link_id: str
    resource_id: str
    label: str
    endpoint: dict[str, Any]
    lineitem: LineItemRef | None
    user_id: str
    progress: float
    completed: bool
    comment: str
    timestamp: dt.datetime
    attempts: int


@dataclass
class GradeDeliveryReport:
    delivered: int = 0
    retrying: int = 0
    failing: int = 0
    superseded: int = 0
    token_registrations: set[int] = field(default_factory=set)

    def as_dict(self) -> dict[str, int]:
        return {
            "delivered": self.delivered,
            "retrying": self.retrying,
            "failing": self.failing,
            "superseded": self.superseded,
        }


def next_timestamp(now: dt.datetime, last: dt.datetime | None) -> dt.datetime:
    """Whole seconds, and at least one second after the last score sent or tried."""
    moment = now.astimezone(dt.UTC).replace(microsecond=0)
    if last is not None:
        floor = last.astimezone(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=1)
        moment = max(moment, floor)
    return moment


def claim_due_grades(
    session: Session, *, now: dt.datetime, limit: int = 200
) -> list[ClaimedGrade]:
    """Lease due pending rows, give each its timestamp; the caller commits at once."""
    due = (
        select(GradeOutboxEntry)
        .where(
            GradeOutboxEntry.status == GRADE_PENDING,
            GradeOutboxEntry.next_attempt_at <= now,
        )
        .order_by(GradeOutboxEntry.next_attempt_at, GradeOutboxEntry.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    claims: list[ClaimedGrade] = []
    # A link's line item and module key, read once per run for all its learners.
    per_link: dict[int, tuple[GradeLineItem | None, str | None]] = {}
    for entry in session.scalars(due):
        link = session.get(ResourceLink, entry.resource_link_pk)
        tenant = session.get(Deployment, entry.tenant_id)
        if link is None or tenant is None or not grades_offered(link):
            entry.status = GRADE_FAILING
            entry.last_error = "This link no longer offers grades to the LMS."
            continue
        if link.id not in per_link:
            per_link[link.id] = (
                session.scalar(
                    select(GradeLineItem).where(
                        GradeLineItem.resource_link_pk == link.id
                    )
                ),
                session.scalar(select(Module.key).where(Module.id == link.module_id))
                if link.module_id
                else None,
            )
        cached, module_key = per_link[link.id]
        stamp = next_timestamp(now, entry.last_timestamp)
        entry.last_timestamp = stamp
        entry.next_attempt_at = now + dt.timedelta(seconds=CLAIM_LEASE_S)
        claims.append(
            ClaimedGrade(
                entry_id=entry.id,
                version=entry.version,
                registration_id=tenant.registration_id,
                resource_link_pk=link.id,
                resource_link_id=link.resource_link_id,
                resource_id=module_key or f"link:{link.resource_link_id}",
                label=link.title or "Pathwise progress",
                endpoint=dict(link.ags_endpoint or {}),
                lineitem=LineItemRef(cached.lineitem_url, cached.score_maximum)
                if cached
                else None,
                user_id=entry.user_id,
                progress=entry.progress,
                completed=entry.completed,
                comment=entry.comment,
                timestamp=stamp,
                attempts=entry.attempts,
            )
        )
    session.flush()
    return claims


def lti_registrations(
    session: Session, registration_ids: set[int]
) -> dict[int, LtiRegistration]:
    """pylti1p3 registrations (with the tool's signing key) for the claimed rows."""
    out: dict[int, LtiRegistration] = {}
    for registration_id in registration_ids:
        row = session.get(Registration, registration_id)
        if row is not None:
            out[registration_id] = to_lti_registration(session, row)
    return out


@dataclass(frozen=True)
class SendOutcome:
    """What one send did: the line item used, and the error if it failed."""

    lineitem: LineItemRef | None
    error: AgsError | None = None


def send_grade(client: AgsClient, claim: ClaimedGrade) -> SendOutcome:
    """Find (or create) the line item if not known yet, then post the score."""
    lineitem = claim.lineitem
    try:
        if lineitem is None:
            lineitem = client.find_or_create_lineitem(
                resource_link_id=claim.resource_link_id,
                resource_id=claim.resource_id,
                tag=LINEITEM_TAG,
                label=claim.label,
            )
        client.post_score(
            lineitem.url,
            ScoreBody(
                user_id=claim.user_id,
                timestamp=claim.timestamp,
                score_given=claim.progress * lineitem.score_maximum,
                score_maximum=lineitem.score_maximum,
                activity_progress="Completed" if claim.completed else "InProgress",
                grading_progress="FullyGraded",
                comment=claim.comment,
            ),
        )
    except AgsError as exc:
        return SendOutcome(lineitem=lineitem, error=exc)
    return SendOutcome(lineitem=lineitem)


def record_grade_outcome(
    session: Session,
    claim: ClaimedGrade,
    outcome: SendOutcome,
    *,
    now: dt.datetime,
    report: GradeDeliveryReport,
    rng: random.Random | None = None,
) -> None:
    """Store what a send did; a score that arrived meanwhile stays pending."""
    if outcome.lineitem is not None and claim.lineitem is None:
        _remember_lineitem(session, claim, outcome.lineitem)
    entry = session.get(GradeOutboxEntry, claim.entry_id)
    if entry is None:
        return
    error = outcome.error
    if error is None:
        entry.sent_version = max(entry.sent_version, claim.version)
        entry.attempts = 0
        entry.last_status = 200
        entry.last_error = ""
        entry.sent_at = now
        if entry.version > entry.sent_version:
            entry.status = GRADE_PENDING
            entry.next_attempt_at = now
            report.superseded += 1
        else:
            entry.status = GRADE_SENT
        report.delivered += 1
    elif isinstance(error, AgsUnavailable):
        entry.attempts += 1
        entry.last_status = error.status
        entry.last_error = str(error)[:2000]
        wait = max(grade_backoff(entry.attempts, rng), error.retry_after_s)
        entry.next_attempt_at = now + dt.timedelta(seconds=min(wait, 3600.0))
        entry.status = GRADE_PENDING
        report.retrying += 1
        log.info("grade %s retrying: %s", entry.id, error)
    else:
        entry.attempts += 1
        entry.last_status = error.status
        entry.last_error = str(error)[:2000]
        entry.status = GRADE_FAILING
        report.failing += 1
        log.warning("grade %s refused by the LMS: %s", entry.id, error)
    session.flush()


def load_entries(session: Session, entry_ids: list[int]) -> None:
    """Read a batch's outbox rows in one query: each outcome then finds its row loaded."""
    if entry_ids:
        session.scalars(
            select(GradeOutboxEntry).where(GradeOutboxEntry.id.in_(entry_ids))
        ).all()


def release_claim(
    session: Session, claim: ClaimedGrade, *, now: dt.datetime, reason: str
) -> None:
    """Give a claimed row back unsent (its LMS is down): due again after a backoff."""
    entry = session.get(GradeOutboxEntry, claim.entry_id)
    if entry is not None:
        entry.next_attempt_at = now + dt.timedelta(
            seconds=grade_backoff(max(1, entry.attempts))
        )
        if entry.attempts == 0:
            entry.last_error = reason
    session.flush()


def _remember_lineitem(
    session: Session, claim: ClaimedGrade, lineitem: LineItemRef
) -> None:
    row = session.scalar(
        select(GradeLineItem).where(
            GradeLineItem.resource_link_pk == claim.resource_link_pk
        )
    )
    if row is None:
        link = session.get(ResourceLink, claim.resource_link_pk)
        if link is None:
            return
        session.add(
            GradeLineItem(
                tenant_id=link.tenant_id,
                resource_link_pk=link.id,
                lineitem_url=lineitem.url,
                score_maximum=lineitem.score_maximum,
            )
        )
    else:
        row.lineitem_url, row.score_maximum = lineitem.url, lineitem.score_maximum
    session.flush()


def make_connector(
    registration: LtiRegistration, registration_id: int, store: ExpiringStore
) -> CachedTokenConnector:
    return CachedTokenConnector(
        registration,
        registration_id=registration_id,
        store=store,
        timeout_s=limits.timeout_s,
    )


def lms_is_down(error: AgsError | None) -> bool:
    """An error that says the whole LMS is unwell, not just this score (409 is not)."""
    return isinstance(error, AgsUnavailable) and error.status != 409
