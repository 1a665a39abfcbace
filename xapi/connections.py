"""xAPI: stored LRS connections (add, list, remove, test) and the client for one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from lti_tool.infra.audit import record_audit
from lti_tool.infra.db import utcnow
from lti_tool.infra.models import Deployment
from xapi.client import LrsClient, LrsError, LrsRejected, RetryPolicy, StatementQuery
from xapi.models import (
    ACTOR_ACCOUNT,
    ACTOR_MBOX,
    MATCH_ALL,
    MATCH_MODES,
    LrsConnection,
    OutboxStatement,
    QuarantinedStatement,
    QueryCursor,
    SyncCursor,
    SyncRun,
    UnmatchedActor,
)

# Big pages suit LRSs that do per-query work over all they hold (in-memory ones).
MAX_PAGE_SIZE = 20_000

ClientFactory = Callable[[LrsConnection], LrsClient]


def client_for(
    connection: LrsConnection, *, retry: RetryPolicy | None = None
) -> LrsClient:
    """An LRS client configured from a stored connection (secret decrypted here)."""
    return LrsClient(
        connection.endpoint,
        connection.username,
        connection.password(),
        version=connection.xapi_version,
        read_timeout_s=connection.timeout_s,
        retry=retry,
    )


def add_connection(
    session: Session,
    *,
    tenant_id: int,
    name: str,
    endpoint: str,
    username: str,
    password: str,
    actor: str,
    actor_mode: str = ACTOR_ACCOUNT,
    home_page_includes_deployment: bool = False,
    home_page_override: str | None = None,
    sync_enabled: bool = True,
    send_statements: bool = True,
    page_size: int = 1000,
    match_on: str = MATCH_ALL,
) -> LrsConnection:
    """Store a new LRS connection (password encrypted) and audit it.

    ``actor_mode`` is how we name people in what we send; ``match_on`` which of a
    directory person's identities incoming statements are matched on.
    """
    if actor_mode not in (ACTOR_ACCOUNT, ACTOR_MBOX):
        raise ValueError("actor mode must be 'account' or 'mbox'")
    if match_on not in MATCH_MODES:
        raise ValueError(f"match_on must be one of {', '.join(MATCH_MODES)}")
    if session.get(Deployment, tenant_id) is None:
        raise ValueError(f"no tenant (deployment) with id {tenant_id}")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page size must be between 1 and {MAX_PAGE_SIZE}")
    # Validate the URL the same way the client will.
    LrsClient(endpoint, username, password).close()
    connection = LrsConnection(
        tenant_id=tenant_id,
        name=name.strip() or endpoint,
        endpoint=endpoint.strip(),
        username=username,
        secret_encrypted="",
        actor_mode=actor_mode,
        home_page_includes_deployment=home_page_includes_deployment,
        home_page_override=(home_page_override or "").strip() or None,
        sync_enabled=sync_enabled,
        send_statements=send_statements,
        page_size=page_size,
        match_on=match_on,
    )
    connection.set_password(password)
    session.add(connection)
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="lrs.add",
        target=f"lrs:{connection.id}",
        tenant_id=tenant_id,
        details={
            "endpoint": connection.endpoint,
            "actor_mode": actor_mode,
            "match_on": match_on,
        },
    )
    return connection


def list_connections(
    session: Session, *, tenant_id: int | None = None
) -> list[LrsConnection]:
    query = select(LrsConnection).order_by(LrsConnection.id)
    if tenant_id is not None:
        query = query.where(LrsConnection.tenant_id == tenant_id)
    return list(session.scalars(query))


def remove_connection(session: Session, *, connection_id: int, actor: str) -> None:
    """Delete a connection with its sync state; outbox rows stay (for another LRS)."""
    connection = session.get(LrsConnection, connection_id)
    if connection is None:
        raise ValueError(f"no LRS connection {connection_id}")
    record_audit(
        session,
        actor=actor,
        action="lrs.remove",
        target=f"lrs:{connection_id}",
        tenant_id=connection.tenant_id,
        details={"endpoint": connection.endpoint},
    )
    for model in (SyncCursor, SyncRun, QueryCursor, UnmatchedActor):
        session.execute(delete(model).where(model.connection_id == connection_id))
    session.execute(
        delete(QuarantinedStatement).where(
            QuarantinedStatement.connection_id == connection_id
        )
    )
    session.execute(
        update(OutboxStatement)
        .where(OutboxStatement.connection_id == connection_id)
        .values(connection_id=None)
    )
    session.delete(connection)
    session.flush()


@dataclass(frozen=True)
class ConnectionTest:
    ok: bool
    message: str
    version: str | None = None


def test_connection(
    session: Session,
    *,
    connection_id: int,
    actor: str,
    client_factory: ClientFactory | None = None,
) -> ConnectionTest:
    """Check /about (version) and an authenticated query; store the result."""
    connection = session.get(LrsConnection, connection_id)
    if connection is None:
        raise ValueError(f"no LRS connection {connection_id}")
    client = (client_factory or _quick_client)(connection)
    try:
        version = client.negotiate_version()
        client.get_statements(StatementQuery(limit=1))
        result = ConnectionTest(True, f"connected; xAPI {version}", version)
        connection.xapi_version = version
    except LrsRejected as exc:
        hint = " (check the key and secret)" if exc.status in (401, 403) else ""
        result = ConnectionTest(False, f"refused: {exc}{hint}")
    except LrsError as exc:
        result = ConnectionTest(False, f"unreachable: {exc}")
    finally:
        client.close()
    connection.last_tested_at = utcnow()
    connection.last_test_ok = result.ok
    connection.last_test_message = result.message[:1000]
    record_audit(
        session,
        actor=actor,
        action="lrs.test",
        target=f"lrs:{connection_id}",
        tenant_id=connection.tenant_id,
        details={"ok": result.ok, "message": result.message[:300]},
    )
    session.flush()
    return result


def _quick_client(connection: LrsConnection) -> LrsClient:
    client = client_for(connection, retry=RetryPolicy(retries=1, base_s=0.2, max_s=1))
    client.timeout = (5.0, min(connection.timeout_s, 10.0))
    return client
