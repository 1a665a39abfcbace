"""xAPI: delivering outbox rows to the tenant's LRS (PUT, backoff, park, conflict)."""

from __future__ import annotations

import datetime as dt
import logging
import random
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_tool.infra.db import utcnow
from xapi.client import LrsClient
from xapi.connections import ClientFactory, client_for
from xapi.identity import has_sending_connection, sending_connection
from xapi.lrs_errors import LrsError, LrsRejected, LrsUnavailable
from xapi.lrs_retry import RetryPolicy
from xapi.models import (
    OUTBOX_CONFLICT,
    OUTBOX_DELIVERED,
    OUTBOX_PARKED,
    OUTBOX_PENDING,
    LrsConnection,
    OutboxStatement,
)
from xapi.transaction import Checkpoint, no_checkpoint

log = logging.getLogger(__name__)


OUTBOX_BASE_BACKOFF_S = 5.0
OUTBOX_MAX_BACKOFF_S = 3600.0


@dataclass
class DeliveryReport:
    delivered: int = 0
    conflicts: int = 0
    parked: int = 0
    retrying: int = 0
    no_connection: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def outbox_backoff(attempts: int, rng: random.Random | None = None) -> float:
    """Seconds before the next delivery attempt: exponential, jittered, capped."""
    cap = min(OUTBOX_MAX_BACKOFF_S, OUTBOX_BASE_BACKOFF_S * 2 ** max(0, attempts - 1))
    return (rng or random).uniform(cap / 2, cap)  # noqa: S311 - jitter, not crypto


def deliver_pending(
    session: Session,
    *,
    limit: int = 500,
    now: dt.datetime | None = None,
    client_factory: ClientFactory | None = None,
    checkpoint: Checkpoint = no_checkpoint,
) -> DeliveryReport:
    """PUT due outbox statements to their tenant's LRS (idempotent by statement id).

    204/200: delivered. 409: conflict (another statement has this id), logged.
    Other 4xx: parked with the error for an admin. 5xx, 429, timeouts: retried later
    with backoff; after one such failure the rest of that LRS's batch waits too.
    """
    now = now or utcnow()
    report = DeliveryReport()
    factory = client_factory or (
        lambda c: client_for(c, retry=RetryPolicy(retries=1, base_s=0.2, max_s=1.0))
    )
    # Only tenants with an LRS to send to: the rows of a tenant without one wait
    # (pending, readable locally) and must neither be re-read by every run nor, once
    # there are ``limit`` of them, starve the tenants that have an LRS.
    due = (
        select(OutboxStatement)
        .where(
            OutboxStatement.status == OUTBOX_PENDING,
            OutboxStatement.next_attempt_at <= now,
            has_sending_connection(OutboxStatement.tenant_id),
        )
        .order_by(OutboxStatement.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Two workers never PUT the same row at once.
        due = due.with_for_update(skip_locked=True)
    rows = list(session.scalars(due))
    connections: dict[int, LrsConnection | None] = {}
    clients: dict[int, LrsClient] = {}
    down: dict[int, str] = {}
    try:
        for index, row in enumerate(rows):
            if row.tenant_id not in connections:
                connections[row.tenant_id] = sending_connection(
                    session, tenant_id=row.tenant_id
                )
            connection = connections[row.tenant_id]
            if connection is None:  # its last sending LRS went away since the query
                report.no_connection += 1
                continue
            if connection.id in down:
                row.next_attempt_at = now + dt.timedelta(
                    seconds=outbox_backoff(max(1, row.attempts))
                )
                report.retrying += 1
                continue
            if connection.id not in clients:
                clients[connection.id] = factory(connection)
            client = clients[connection.id]
            row.attempts += 1
            row.connection_id = connection.id
            try:
                status = client.put_statement(row.statement_id, row.body)
            except LrsRejected as exc:
                row.last_status = exc.status
                row.last_error = str(exc)[:2000]
                if exc.status == 409:
                    row.status = OUTBOX_CONFLICT
                    report.conflicts += 1
                    log.warning(
                        "LRS %s holds a different statement %s (409)",
                        connection.id,
                        row.statement_id,
                    )
                else:
                    row.status = OUTBOX_PARKED
                    report.parked += 1
            except LrsUnavailable as exc:
                row.last_status = exc.status
                row.last_error = str(exc)[:2000]
                row.next_attempt_at = now + dt.timedelta(
                    seconds=outbox_backoff(row.attempts)
                )
                report.retrying += 1
                down[connection.id] = str(exc)
            except LrsError as exc:
                row.last_error = str(exc)[:2000]
                row.next_attempt_at = now + dt.timedelta(
                    seconds=outbox_backoff(row.attempts)
                )
                report.retrying += 1
            else:
                row.status = OUTBOX_DELIVERED
                row.last_status = status
                row.last_error = ""
                row.delivered_at = utcnow()
                report.delivered += 1
            if index % 50 == 49:
                session.flush()
                checkpoint()
    finally:
        for client in clients.values():
            client.close()
    session.flush()
    checkpoint()
    return report
