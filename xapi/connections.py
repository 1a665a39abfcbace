"""xAPI: stored LRS connections (add, list, remove, test) and the client for one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from lti_tool.infra.audit import record_audit
from lti_tool.infra.db import utcnow
from lti_tool.infra.models import Deployment
from xapi.client import SUPPORTED_VERSIONS, LrsClient, VersionCheck
from xapi.lrs_errors import LrsError
from xapi.lrs_retry import RetryPolicy
from xapi.models import (
    ACTOR_ACCOUNT,
    ACTOR_MBOX,
    DEFAULT_PAGE_SIZE,
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
from xapi.statement_query import StatementQuery

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
        version=connection.xapi_version_override or connection.xapi_version,
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
    page_size: int = DEFAULT_PAGE_SIZE,
    match_on: str = MATCH_ALL,
    xapi_version: str | None = None,
) -> LrsConnection:
    """Store a new LRS connection (password encrypted) and audit it.

    ``actor_mode`` is how we name people in what we send; ``match_on`` which of a
    directory person's identities incoming statements are matched on;
    ``xapi_version`` pins the version (for an LRS without /about), None detects it.
    """
    if actor_mode not in (ACTOR_ACCOUNT, ACTOR_MBOX):
        raise ValueError("actor mode must be 'account' or 'mbox'")
    if match_on not in MATCH_MODES:
        raise ValueError(f"match_on must be one of {', '.join(MATCH_MODES)}")
    _check_version(xapi_version)
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
        xapi_version_override=xapi_version,
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
            "xapi_version": xapi_version,
        },
    )
    return connection


def _check_version(version: str | None) -> None:
    if version is not None and version not in SUPPORTED_VERSIONS:
        raise ValueError(
            f"xAPI version must be one of {', '.join(SUPPORTED_VERSIONS)} (or detect)"
        )


def set_version(
    session: Session, *, connection_id: int, version: str | None, actor: str
) -> LrsConnection:
    """Pin a connection's xAPI version, or (None) go back to detecting it."""
    _check_version(version)
    connection = session.get(LrsConnection, connection_id)
    if connection is None:
        raise ValueError(f"no LRS connection {connection_id}")
    connection.xapi_version_override = version
    # A detected version may have come from the LRS's guess: detect again.
    connection.xapi_version = None
    record_audit(
        session,
        actor=actor,
        action="lrs.set_version",
        target=f"lrs:{connection_id}",
        tenant_id=connection.tenant_id,
        details={"xapi_version": version},
    )
    session.flush()
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
        pinned = connection.xapi_version_override
        check = VersionCheck(pinned) if pinned is not None else client.detect_version()
        client.version = check.version
        client.get_statements(StatementQuery(limit=1))
        source = " (set on the connection)" if pinned is not None else ""
        note = f"; warning: {check.warning}" if check.warning else ""
        result = ConnectionTest(
            True, f"connected; xAPI {check.version}{source}{note}", check.version
        )
        if pinned is None:
            connection.xapi_version = check.version
    except LrsError as exc:
        # The client's messages already tell credentials, a wrong URL and an
        # unreachable server apart (see xapi.lrs_errors.refusal_message).
        result = ConnectionTest(False, str(exc))
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
