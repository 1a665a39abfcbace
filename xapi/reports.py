"""xAPI: read-only queries for the console and the CLI (quarantine, sync overview,
unknown people)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from lti_tool.infra.tenancy import in_console_scope
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
    scope = in_console_scope(LrsConnection.tenant_id, tenant_id)
    if scope is not None:
        query = query.where(scope)
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


def unmatched_actors(
    session: Session,
    *,
    tenant_id: int | None = None,
    connection_id: int | None = None,
    limit: int = 100,
) -> list[Row[tuple[UnmatchedActor, str]]]:
    """The unknown identities with the most statements first: whom to import.

    ``actor_key`` reads ``account:<homePage>|<name>``, ``mbox:mailto:<email>`` or
    ``sha1:<hex>``; each row counts the statements that matched a rule but nobody
    in the directory.
    """
    query = (
        select(UnmatchedActor, LrsConnection.name)
        .join(LrsConnection, LrsConnection.id == UnmatchedActor.connection_id)
        .order_by(UnmatchedActor.statements.desc(), UnmatchedActor.id)
        .limit(limit)
    )
    scope = in_console_scope(LrsConnection.tenant_id, tenant_id)
    if scope is not None:
        query = query.where(scope)
    if connection_id is not None:
        query = query.where(UnmatchedActor.connection_id == connection_id)
    return list(session.execute(query))
