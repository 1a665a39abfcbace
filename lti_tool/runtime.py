"""Composition root: wire the process-wide resources that web, worker and CLI share."""

from __future__ import annotations

import logging

from lti_tool.infra.config import Settings
from lti_tool.infra.crypto import configure_secrets
from lti_tool.infra.db import db
from lti_tool.infra.outbound import configure_outbound
from lti_tool.infra.queue import job_queue
from lti_tool.lti.grade_delivery import configure_grade_delivery
from lti_tool.lti.grade_jobs import kick_grades
from lti_tool.lti.grade_kicks import wire_grade_kicks
from xapi.jobs import kick_learner_pull, kick_outbox
from xapi.kicks import wire_kicks
from xapi.sync import configure_sync_limits


def configure_runtime(settings: Settings) -> None:
    """Wire process-wide resources (engine, queue, secrets); shared by web, worker, CLI."""
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    db.configure(settings.database_url)
    job_queue.configure(settings.redis_url, gather_s=settings.writeback_gather_s)
    configure_secrets(settings.encryption_keys)
    # Internal addresses are refused only in production: the demo and the tests
    # talk to an LMS and an LRS on loopback.
    configure_outbound(
        guard_internal=settings.is_production,
        allow_hosts=settings.outbound_allow_hosts,
    )
    configure_sync_limits(max_pages=settings.lrs_sync_max_pages)
    configure_grade_delivery(timeout_s=settings.ags_timeout_s)
    wire_follow_up_jobs()


def wire_follow_up_jobs() -> None:
    """Hand the xAPI and grade services their after-commit kicks (jobs they cannot import).

    Inline in embedded mode, coalesced and Redis-gated otherwise: ``job_queue``
    decides when the kick runs. Test fixtures that skip ``configure_runtime`` call
    this directly.
    """
    wire_kicks(deliver_outbox=kick_outbox, continue_pull=kick_learner_pull)
    wire_grade_kicks(deliver_grades=kick_grades)
