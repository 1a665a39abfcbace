"""xAPI: read-only queries for the console and the CLI (quarantine, sync overview)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from xapi.connections import list_connections
from xapi.models import (
    LrsConnection,
    QuarantinedStatement,
    SyncCursor,
    SyncRun,
    UnmatchedActor,
)


def quarantine_list(
    session: Session, *, tenant_id: int | None = None, limit: int = 200
) -> list[Row[tuple[QuarantinedStatement, str]]]:
    query = (
        select(QuarantinedStatement, LrsConnection.name)
        .join(LrsConnection, LrsConnection.id == QuarantinedStatement.connection_id)
        .order_by(QuarantinedStatement.id.desc())
        .limit(limit)
    )
    if tenant_id is not None:
        query = query.where(LrsConnection.tenant_id == tenant_id)
    return list(session.execute(query))


def sync_overview(
    session: Session, *, tenant_id: int | None = None
) -> list[dict[str, Any]]:
    """Per connection: cursor, lease, last run, cumulative counters."""
    overview: list[dict[str, Any]] = []
    for connection in list_connections(session, tenant_id=tenant_id):
        cursor = session.get(SyncCursor, connection.id)
        last_run = session.scalars(
            select(SyncRun)
            .where(SyncRun.connection_id == connection.id)
            .order_by(SyncRun.id.desc())
            .limit(1)
        ).first()
        unmatched = session.scalar(
            select(func.count()).where(UnmatchedActor.connection_id == connection.id)
        )
        overview.append(
            {
                "connection": connection,
                "cursor": cursor,
                "last_run": last_run,
                "totals": dict(cursor.totals or {}) if cursor else {},
                "unmatched_actors": int(unmatched or 0),
            }
        )
    return overview
