"""LTI protocol jobs: deliver the grade outbox to each LMS (RQ, or inline when embedded)."""

from __future__ import annotations

import datetime as dt

from lti_tool.infra.db import db, session_scope, utcnow
from lti_tool.infra.queue import QUEUE_OUTBOX, enqueue, job_queue
from lti_tool.infra.store import make_durable_store
from lti_tool.lti.ags_client import AgsClient, CachedTokenConnector
from lti_tool.lti.grade_delivery import (
    GradeDeliveryReport,
    claim_due_grades,
    lms_is_down,
    lti_registrations,
    make_connector,
    record_grade_outcome,
    release_claim,
    send_grade,
)

GRADES_GATE = "ags-grades"
GRADES_BATCH = 200


def send_pending_grades(
    limit: int = GRADES_BATCH, now: dt.datetime | None = None
) -> dict[str, int]:
    """Send due scores: claim (commit), call the LMS, record each outcome (commit).

    After one LMS answers "unavailable" (429, 5xx, timeout) the rest of its batch
    waits for the next run. Re-enqueues itself while a full batch went out.
    """
    job_queue.open_gate(GRADES_GATE)  # scores committed from now on kick a new run
    moment = now or utcnow()
    with session_scope() as session:
        claims = claim_due_grades(session, now=moment, limit=limit)
        registrations = lti_registrations(session, {c.registration_id for c in claims})
    report = GradeDeliveryReport()
    store = make_durable_store(job_queue.connection, db.session)
    connectors: dict[int, CachedTokenConnector] = {}
    down: dict[int, str] = {}
    try:
        for claim in claims:
            registration = registrations.get(claim.registration_id)
            if claim.registration_id in down or registration is None:
                reason = down.get(claim.registration_id, "The LMS is not registered.")
                with session_scope() as session:
                    release_claim(session, claim, now=moment, reason=reason)
                report.retrying += 1
                continue
            if claim.registration_id not in connectors:
                connectors[claim.registration_id] = make_connector(
                    registration, claim.registration_id, store
                )
            connector = connectors[claim.registration_id]
            outcome = send_grade(AgsClient(connector, claim.endpoint), claim)
            if lms_is_down(outcome.error):
                down[claim.registration_id] = str(outcome.error)
            with session_scope() as session:
                record_grade_outcome(
                    session, claim, outcome, now=now or utcnow(), report=report
                )
    finally:
        for connector in connectors.values():
            connector.close()
    if len(claims) >= limit and not down:
        enqueue(send_pending_grades, limit, queue=QUEUE_OUTBOX)
    if report.superseded:
        # A newer score arrived while an older one was on the wire: send it now.
        kick_grades()
    return report.as_dict()


def kick_grades() -> None:
    """Deliver the grade outbox soon: one queued run per burst of commits."""
    job_queue.enqueue_coalesced(
        send_pending_grades, queue=QUEUE_OUTBOX, gate=GRADES_GATE
    )
