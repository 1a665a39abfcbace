"""Periodic jobs of the whole service, registered with RQ's cron scheduler."""

from __future__ import annotations

from typing import Any

from adaptive import jobs as adaptive_jobs
from lti_tool.infra.db import session_scope
from lti_tool.infra.queue import QUEUE_DEFAULT, QUEUE_MODELS, QUEUE_OUTBOX, QUEUE_SYNC
from lti_tool.infra.store import DatabaseStore
from lti_tool.lti import grade_jobs
from lti_tool.lti.keys import prune_retired_keys
from xapi import jobs as xapi_jobs


def prune_expired_state() -> int:
    """Drop retired signing keys and expired embedded-mode launch state."""
    with session_scope() as session:
        return prune_retired_keys(session) + DatabaseStore(session).sweep()


def register_periodic_jobs(scheduler: Any) -> None:
    """One list of what runs when; each job is idempotent, so overlaps are harmless."""
    scheduler.register(prune_expired_state, QUEUE_DEFAULT, interval=3600)
    scheduler.register(xapi_jobs.send_pending_statements, QUEUE_OUTBOX, interval=30)
    scheduler.register(grade_jobs.send_pending_grades, QUEUE_OUTBOX, interval=30)
    scheduler.register(xapi_jobs.sync_all_connections, QUEUE_SYNC, interval=300)
    scheduler.register(
        adaptive_jobs.retrain_all_models, QUEUE_MODELS, cron="30 2 * * *"
    )
