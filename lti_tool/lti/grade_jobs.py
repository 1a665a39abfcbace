"""LTI protocol jobs: deliver the grade outbox to each LMS (RQ, or inline when embedded)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from lti_tool.infra.db import db, session_scope, utcnow
from lti_tool.infra.queue import QUEUE_OUTBOX, enqueue, job_queue
from lti_tool.infra.store import make_durable_store
from lti_tool.lti.ags_client import AgsClient, CachedTokenConnector, LineItemRef
from lti_tool.lti.grade_delivery import (
    ClaimedGrade,
    GradeDeliveryReport,
    SendOutcome,
    claim_due_grades,
    lms_is_down,
    load_entries,
    lti_registrations,
    make_connector,
    record_grade_outcome,
    release_claim,
    send_grade,
)

GRADES_GATE = "ags-grades"
GRADES_BATCH = 200
# Outcomes are written this many at a time (a crash resends at most these, later).
RECORD_EVERY = 25


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
    # A link's line item, once found in this run, serves its other learners' claims.
    lineitems: dict[int, LineItemRef] = {}
    sent: list[tuple[ClaimedGrade, SendOutcome]] = []
    released: list[tuple[ClaimedGrade, str]] = []

    def record() -> None:
        """Write the outcomes so far in one short transaction."""
        with session_scope() as session:
            load_entries(session, [c.entry_id for c, _ in sent + released])
            for claim, outcome in sent:
                record_grade_outcome(
                    session, claim, outcome, now=now or utcnow(), report=report
                )
            for claim, reason in released:
                release_claim(session, claim, now=moment, reason=reason)
        report.retrying += len(released)
        sent.clear()
        released.clear()

    try:
        for index, claim in enumerate(claims):
            registration = registrations.get(claim.registration_id)
            if claim.registration_id in down or registration is None:
                reason = down.get(claim.registration_id, "The LMS is not registered.")
                released.append((claim, reason))
                continue
            if claim.registration_id not in connectors:
                connectors[claim.registration_id] = make_connector(
                    registration, claim.registration_id, store
                )
            known = lineitems.get(claim.resource_link_pk)
            if claim.lineitem is None and known is not None:
                claim = dataclasses.replace(claim, lineitem=known)
            client = AgsClient(connectors[claim.registration_id], claim.endpoint)
            outcome = send_grade(client, claim)
            if outcome.lineitem is not None:
                lineitems[claim.resource_link_pk] = outcome.lineitem
            if lms_is_down(outcome.error):
                down[claim.registration_id] = str(outcome.error)
            sent.append((claim, outcome))
            if index % RECORD_EVERY == RECORD_EVERY - 1:
                record()
    finally:
        record()
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
