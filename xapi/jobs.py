"""xAPI jobs: deliver the outbox, sync LRS connections, finish launch pulls (RQ)."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from lti_tool.infra.db import session_scope
from lti_tool.infra.queue import QUEUE_OUTBOX, QUEUE_SYNC, enqueue, job_queue
from xapi.delivery import deliver_pending
from xapi.models import LrsConnection
from xapi.pull import pull_learner_statements
from xapi.sync import sync_connection

log = logging.getLogger(__name__)

# A background pull has no launch waiting on it: give it minutes, not seconds.
BACKGROUND_PULL_BUDGET_S = 600.0


OUTBOX_GATE = "xapi-outbox"


def send_pending_statements(limit: int = 500) -> dict[str, int]:
    """Deliver due outbox statements; re-enqueues itself while a full batch went out."""
    job_queue.open_gate(OUTBOX_GATE)  # statements committed from now on kick a new run
    with session_scope() as session:
        report = deliver_pending(session, limit=limit, checkpoint=session.commit)
    handled = report.delivered + report.conflicts + report.parked
    if handled >= limit and report.retrying == 0:
        enqueue(send_pending_statements, limit, queue=QUEUE_OUTBOX)
    return report.as_dict()


def sync_lrs(connection_id: int) -> dict[str, Any]:
    """Incremental sync of one connection, committing after every page."""
    with session_scope() as session:
        report = sync_connection(
            session, connection_id=connection_id, checkpoint=session.commit
        )
    if report.error:
        log.warning("LRS %s sync incomplete: %s", connection_id, report.error)
    return {"complete": report.complete, "error": report.error, **report.as_dict()}


def sync_all_connections() -> int:
    """Enqueue a sync per active connection (the periodic entry point)."""
    with session_scope() as session:
        ids = list(
            session.scalars(
                select(LrsConnection.id).where(
                    LrsConnection.active.is_(True),
                    LrsConnection.sync_enabled.is_(True),
                )
            )
        )
    for connection_id in ids:
        enqueue(sync_lrs, connection_id, queue=QUEUE_SYNC)
    return len(ids)


def kick_outbox() -> None:
    """Deliver the outbox soon: one queued run per burst of commits (Redis-gated)."""
    job_queue.enqueue_coalesced(
        send_pending_statements, queue=QUEUE_OUTBOX, gate=OUTBOX_GATE
    )


def kick_learner_pull(person_id: int) -> None:
    """Finish a learner's launch-time pull in the background."""
    enqueue(continue_learner_pull, person_id, queue=QUEUE_SYNC)


def continue_learner_pull(person_id: int) -> dict[str, Any]:
    """Finish a launch-time pull that ran out of its time budget."""
    with session_scope() as session:
        report = pull_learner_statements(
            session,
            person_id=person_id,
            budget_s=BACKGROUND_PULL_BUDGET_S,
            checkpoint=session.commit,
        )
    return {"complete": report.complete, **dict(report.counters)}
