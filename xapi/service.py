"""xAPI services: LRS connections, the statement outbox, incremental sync, launch pulls.

Services flush but never commit: long operations take a ``checkpoint`` callable that
the entry point (job, CLI) sets to ``session.commit`` so progress survives an outage.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import queue
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
    Engine,
    Row,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from adaptive.models import Activity, ActivitySkill, Evidence, Framework, Skill
from lti_tool.infra import revision
from lti_tool.infra.db import utcnow
from lti_tool.infra.models import AuditEntry, Deployment, Person, Registration
from xapi.client import (
    BudgetExceeded,
    LrsClient,
    LrsError,
    LrsRejected,
    LrsUnavailable,
    RetryPolicy,
    StatementQuery,
)
from xapi.core import statements as st
from xapi.core.rules import RuleSet, default_rules, parse_rules
from xapi.models import (
    ACTOR_ACCOUNT,
    ACTOR_MBOX,
    OUTBOX_CONFLICT,
    OUTBOX_DELIVERED,
    OUTBOX_PARKED,
    OUTBOX_PENDING,
    OUTBOX_STATUSES,
    RUN_FAILED,
    RUN_OK,
    RUN_PARTIAL,
    RUN_RUNNING,
    EvidenceRuleSet,
    LearnerCursor,
    LrsConnection,
    OutboxStatement,
    QuarantinedStatement,
    SyncCursor,
    SyncRun,
    UnmatchedActor,
    VoidedStatement,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
Checkpoint = Callable[[], None]
ClientFactory = Callable[[LrsConnection], LrsClient]

LEASE_S = 300.0
# Big pages suit LRSs that do per-query work over all they hold (in-memory ones).
MAX_PAGE_SIZE = 20_000
MAX_RETRY_LIMIT = 50_000
UNMATCHED_FLUSH_S = 5.0
OUTBOX_BASE_BACKOFF_S = 5.0
OUTBOX_MAX_BACKOFF_S = 3600.0


def _no_checkpoint() -> None:
    """Default checkpoint: leave the transaction to the caller."""


def _audit(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str,
    tenant_id: int | None,
    details: Mapping[str, Any] | None = None,
) -> None:
    session.add(
        AuditEntry(
            actor=actor,
            action=action,
            target=target,
            tenant_id=tenant_id,
            details=dict(details or {}),
        )
    )


# ---------------------------------------------------------------------------
# Connections


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
) -> LrsConnection:
    """Store a new LRS connection (password encrypted) and audit it."""
    if actor_mode not in (ACTOR_ACCOUNT, ACTOR_MBOX):
        raise ValueError("actor mode must be 'account' or 'mbox'")
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
    )
    connection.set_password(password)
    session.add(connection)
    session.flush()
    _audit(
        session,
        actor=actor,
        action="lrs.add",
        target=f"lrs:{connection.id}",
        tenant_id=tenant_id,
        details={"endpoint": connection.endpoint, "actor_mode": actor_mode},
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
    _audit(
        session,
        actor=actor,
        action="lrs.remove",
        target=f"lrs:{connection_id}",
        tenant_id=connection.tenant_id,
        details={"endpoint": connection.endpoint},
    )
    for model in (SyncCursor, SyncRun, LearnerCursor, UnmatchedActor):
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
    _audit(
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


# ---------------------------------------------------------------------------
# Evidence rules


def load_rules(session: Session, *, tenant_id: int) -> RuleSet:
    """The tenant's rule set, or the shipped defaults when it has none."""
    stored = session.get(EvidenceRuleSet, tenant_id)
    if stored is None:
        return default_rules()
    return parse_rules(stored.document)


def import_rules(
    session: Session, *, tenant_id: int, document: Any, actor: str
) -> RuleSet:
    """Validate a rule-set document (JSON text or object) and make it the tenant's."""
    rules = parse_rules(document)
    stored = session.get(EvidenceRuleSet, tenant_id)
    if stored is None:
        session.add(
            EvidenceRuleSet(
                tenant_id=tenant_id, document=rules.to_json(), updated_by=actor
            )
        )
    else:
        stored.document = rules.to_json()
        stored.updated_by = actor
    _audit(
        session,
        actor=actor,
        action="xapi.core.rules.import",
        target=f"tenant:{tenant_id}",
        tenant_id=tenant_id,
        details={"rules": [r.key for r in rules.rules]},
    )
    session.flush()
    return rules


# ---------------------------------------------------------------------------
# Actors


# Read on every launch and every emitted statement; exact via the revision stamp.
_TENANT_CONFIG = revision.RevisionCache(revision.CONFIG, size=4096)


def _tenant_identity(session: Session, tenant_id: int) -> tuple[str, str]:
    def read() -> tuple[str, str]:
        row = session.execute(
            select(Registration.issuer, Deployment.deployment_id)
            .join(Deployment, Deployment.registration_id == Registration.id)
            .where(Deployment.id == tenant_id)
        ).one()
        return str(row[0]), str(row[1])

    return _TENANT_CONFIG.get(session, ("identity", tenant_id), read)


def _active_connections(session: Session, tenant_id: int) -> list[LrsConnection]:
    return revision.cached_rows(
        _TENANT_CONFIG,
        session,
        ("connections", tenant_id),
        lambda: session.scalars(
            select(LrsConnection)
            .where(LrsConnection.tenant_id == tenant_id, LrsConnection.active.is_(True))
            .order_by(LrsConnection.id)
        ).all(),
    )


def sending_connection(session: Session, *, tenant_id: int) -> LrsConnection | None:
    """The connection our statements go to: the tenant's oldest active sending one."""
    return next(
        (c for c in _active_connections(session, tenant_id) if c.send_statements),
        None,
    )


def actor_for_person(
    session: Session, *, person: Person, connection: LrsConnection | None = None
) -> dict[str, Any]:
    """The xAPI actor for a person, per the (sending) connection's actor mode."""
    issuer, deployment_id = _tenant_identity(session, person.tenant_id)
    if connection is None:
        connection = sending_connection(session, tenant_id=person.tenant_id)
    identity = st.Identity(
        issuer=issuer,
        deployment_id=deployment_id,
        sub=person.sub,
        email=person.email,
        name=person.display_name,
    )
    if connection is None:
        return st.build_actor(identity)
    return st.build_actor(
        identity,
        mode="mbox" if connection.actor_mode == ACTOR_MBOX else "account",
        include_deployment=connection.home_page_includes_deployment,
        home_page=connection.home_page_override,
    )


def _person_actor_keys(
    session: Session, connection: LrsConnection, person: Person
) -> list[str]:
    issuer, deployment_id = _tenant_identity(session, person.tenant_id)
    home = st.account_home_page(
        issuer,
        deployment_id,
        include_deployment=connection.home_page_includes_deployment,
        override=connection.home_page_override,
    )
    keys = [f"account:{home}|{person.sub}"]
    if connection.actor_mode == ACTOR_MBOX and person.email:
        mailto = "mailto:" + person.email.strip().lower()
        keys.append("mbox:" + mailto)
        keys.append("sha1:" + hashlib.sha1(mailto.encode()).hexdigest())  # noqa: S324
    return keys


# ---------------------------------------------------------------------------
# Outbox


def enqueue_statement(
    session: Session,
    *,
    tenant_id: int,
    statement: Mapping[str, Any],
    person_id: int | None = None,
) -> OutboxStatement:
    """Put a statement in the outbox, inside the caller's transaction.

    Idempotent on the statement id (deterministic ids make a replayed event a no-op).
    Delivery is kicked off after the caller commits; nothing fails without an LRS.
    """
    problems = st.validate_statement(statement)
    if problems:
        raise ValueError("invalid statement: " + "; ".join(problems))
    existing = _outbox_entry(session, str(statement["id"]))
    if existing is not None:
        return existing
    return _add_to_outbox(
        session, tenant_id=tenant_id, statement=statement, person_id=person_id
    )


def _outbox_entry(session: Session, statement_id: str) -> OutboxStatement | None:
    return session.scalars(
        select(OutboxStatement).where(OutboxStatement.statement_id == statement_id)
    ).first()


def _add_to_outbox(
    session: Session,
    *,
    tenant_id: int,
    statement: Mapping[str, Any],
    person_id: int | None,
) -> OutboxStatement:
    """Insert a validated statement not yet in the outbox; kick delivery after commit."""
    statement_id = str(statement["id"])
    verb_iri = str(statement["verb"]["id"])
    row = OutboxStatement(
        tenant_id=tenant_id,
        person_id=person_id,
        statement_id=statement_id,
        verb=verb_iri.rsplit("/", 1)[-1][:40],
        body=st.serialize(statement),
        status=OUTBOX_PENDING,
        next_attempt_at=utcnow(),
    )
    session.add(row)
    session.flush()
    _deliver_after_commit(session)
    return row


def emit_statement(
    session: Session,
    *,
    person: Person,
    key: str,
    verb: str,
    object: st.ActivityRef,
    timestamp: dt.datetime,
    result: st.ResultSpec | None = None,
    registration: str | None = None,
    course: st.ActivityRef | None = None,
    parent: st.ActivityRef | None = None,
    context_extensions: Mapping[str, Any] | None = None,
) -> OutboxStatement:
    """Build one of our profile's statements for ``person`` and put it in the outbox.

    ``key`` names the event (e.g. ``"answer:123"``): the same key gives the same
    statement id, so emitting twice is harmless (and costs one lookup, no building).
    """
    existing = _outbox_entry(session, st.statement_uuid(key))
    if existing is not None:
        return existing
    spec = st.StatementSpec(
        key=key,
        actor=actor_for_person(session, person=person),
        verb=verb,
        object=object,
        timestamp=timestamp,
        result=result,
        registration=registration,
        course=course,
        parent=parent,
        context_extensions=dict(context_extensions or {}),
    )
    # build_statement validates what it builds; the lookup above was the only one.
    return _add_to_outbox(
        session,
        tenant_id=person.tenant_id,
        statement=st.build_statement(spec),
        person_id=person.id,
    )


def after_commit(session: Session, flag: str, action: Callable[[], None]) -> None:
    """Run ``action`` once after the caller's transaction commits (never on rollback).

    Jobs enqueued before the commit could run before their rows are visible, or, in
    embedded mode (inline jobs), wait on the caller's own SQLite write lock.
    """
    if session.info.get(flag):
        return
    session.info[flag] = True

    def _committed(committed: Session) -> None:
        committed.info.pop(flag, None)
        event.remove(session, "after_rollback", _rolled_back)
        action()

    def _rolled_back(rolled_back: Session) -> None:
        rolled_back.info.pop(flag, None)
        event.remove(session, "after_commit", _committed)

    event.listen(session, "after_commit", _committed, once=True)
    event.listen(session, "after_rollback", _rolled_back, once=True)


def _deliver_after_commit(session: Session) -> None:
    def kick() -> None:
        from lti_tool.infra.queue import QUEUE_OUTBOX, job_queue
        from xapi.jobs import OUTBOX_GATE, send_pending_statements

        job_queue.enqueue_coalesced(
            send_pending_statements, queue=QUEUE_OUTBOX, gate=OUTBOX_GATE
        )

    after_commit(session, "xapi_outbox_kick", kick)


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
    checkpoint: Checkpoint = _no_checkpoint,
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
    due = (
        select(OutboxStatement)
        .where(
            OutboxStatement.status == OUTBOX_PENDING,
            OutboxStatement.next_attempt_at <= now,
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
            if connection is None:
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


def retry_parked(session: Session, *, actor: str, tenant_id: int | None = None) -> int:
    """Send parked (and conflicting) statements again, e.g. after fixing the LRS."""
    query = update(OutboxStatement).where(
        OutboxStatement.status.in_((OUTBOX_PARKED, OUTBOX_CONFLICT))
    )
    if tenant_id is not None:
        query = query.where(OutboxStatement.tenant_id == tenant_id)
    result = session.execute(
        query.values(status=OUTBOX_PENDING, next_attempt_at=utcnow(), attempts=0)
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    _audit(
        session,
        actor=actor,
        action="xapi.outbox.retry_parked",
        target=f"tenant:{tenant_id}" if tenant_id is not None else "all",
        tenant_id=tenant_id,
        details={"statements": count},
    )
    session.flush()
    if count:
        _deliver_after_commit(session)
    return count


def outbox_counts(session: Session, *, tenant_id: int | None = None) -> dict[str, int]:
    query = select(OutboxStatement.status, func.count()).group_by(
        OutboxStatement.status
    )
    if tenant_id is not None:
        query = query.where(OutboxStatement.tenant_id == tenant_id)
    counts = dict.fromkeys(OUTBOX_STATUSES, 0)
    for status, count in session.execute(query):
        counts[str(status)] = int(count)
    return counts


def outbox_problems(
    session: Session, *, tenant_id: int | None = None, limit: int = 200
) -> list[OutboxStatement]:
    """Parked, conflicting and retrying statements, newest first (console)."""
    query = (
        select(OutboxStatement)
        .where(
            or_(
                OutboxStatement.status.in_((OUTBOX_PARKED, OUTBOX_CONFLICT)),
                (OutboxStatement.status == OUTBOX_PENDING)
                & (OutboxStatement.attempts > 0),
            )
        )
        .order_by(OutboxStatement.id.desc())
        .limit(limit)
    )
    if tenant_id is not None:
        query = query.where(OutboxStatement.tenant_id == tenant_id)
    return list(session.scalars(query))


# ---------------------------------------------------------------------------
# Sync: turning LRS statements into evidence


@dataclass
class SyncReport:
    """Counters of one sync run (also stored on the SyncRun row)."""

    counters: Counter[str] = field(default_factory=Counter)
    complete: bool = True
    error: str = ""
    run_id: int | None = None

    def as_dict(self) -> dict[str, int]:
        return dict(self.counters)


def _insert(session: Session | Connection, model: Any) -> Any:
    """An INSERT that skips rows violating a unique constraint (Postgres or SQLite)."""
    bind = session if isinstance(session, Connection) else session.get_bind()
    dialect = bind.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(model).on_conflict_do_nothing()
    return insert(model)


_EVIDENCE_COLUMNS = (
    "tenant_id",
    "person_id",
    "skill_id",
    "outcome",
    "weight",
    "level",
    "source",
    "activity_id",
    "statement_id",
    "rule_key",
    "occurred_at",
    "voided",
    "created_at",
)
_STATEMENT_ID = _EVIDENCE_COLUMNS.index("statement_id")
_VOIDED = _EVIDENCE_COLUMNS.index("voided")
# One evidence row, its values in _EVIDENCE_COLUMNS order (tuples: no dict per row).
EvidenceRow = tuple[Any, ...]


def insert_evidence(session: Session, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert evidence rows (dicts), skipping ones already there; returns new ones."""
    return _insert_evidence_rows(
        session.connection(),
        [tuple(row[c] for c in _EVIDENCE_COLUMNS) for row in rows],
    )


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_str(value: str | None) -> str:
    return "\\N" if value is None else value.translate(_COPY_ESCAPES)


def copy_text(rows: Sequence[EvidenceRow]) -> bytes:
    """Evidence rows as the body of a ``COPY ... FROM STDIN`` (text format).

    Formatted by the thread that prepared them, so the writer sends one buffer
    instead of taking the interpreter lock back for every row. Rows of one
    statement share their text tail (statement id, rule, times).
    """
    null = "\\N"
    lines: list[str] = []
    tail_key: tuple[Any, ...] = ()
    head = tail = ""
    created_at: dt.datetime | None = None
    created = ""
    for (
        tenant_id,
        person_id,
        skill_id,
        outcome,
        weight,
        level,
        source,
        activity_id,
        statement_id,
        rule_key,
        occurred_at,
        voided,
        created_now,
    ) in rows:
        if created_now is not created_at:
            created_at = created_now
            created = created_now.isoformat()
            tail_key = ()
        key = (statement_id, rule_key, occurred_at, voided, source)
        if key != tail_key:
            tail_key = key
            head = _copy_str(source)
            tail = (
                f"{_copy_str(statement_id)}\t{_copy_str(rule_key)}\t"
                f"{occurred_at.isoformat()}\t{'t' if voided else 'f'}\t{created}\n"
            )
        lines.append(
            f"{int(tenant_id)}\t{int(person_id)}\t{int(skill_id)}\t"
            f"{float(outcome)!r}\t{float(weight)!r}\t"
            f"{null if level is None else int(level)}\t{head}\t"
            f"{null if activity_id is None else int(activity_id)}\t{tail}"
        )
    return "".join(lines).encode("utf-8")


def _insert_evidence_rows(
    connection: Connection, rows: Sequence[EvidenceRow], text: bytes | None = None
) -> int:
    """Insert evidence rows, skipping ones already there; returns how many were new.

    On Postgres the rows are streamed with COPY into a temporary table and moved with
    one INSERT ... ON CONFLICT DO NOTHING: several times faster than multi-row
    INSERTs (whose huge statements the driver re-parses every time). ``text`` is
    the rows already formatted by ``copy_text``.
    """
    if not rows:
        return 0
    if connection.dialect.name != "postgresql":
        result = connection.execute(
            _insert(connection, Evidence.__table__).returning(Evidence.__table__.c.id),
            [dict(zip(_EVIDENCE_COLUMNS, row, strict=True)) for row in rows],
        )
        return len(result.all())
    columns = ", ".join(_EVIDENCE_COLUMNS)
    driver = connection.connection.driver_connection
    if driver is None:
        raise RuntimeError("no database connection for COPY")
    with driver.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS xapi_evidence_stage "
            "(LIKE evidence INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        with cursor.copy(f"COPY xapi_evidence_stage ({columns}) FROM STDIN") as copy:
            if text is not None:
                copy.write(text)
            else:
                write = copy.write_row
                for row in rows:
                    write(row)
        cursor.execute(
            f"INSERT INTO evidence ({columns}) "  # noqa: S608 - fixed column names
            f"SELECT {columns} FROM xapi_evidence_stage "
            "ON CONFLICT (tenant_id, statement_id, skill_id) DO NOTHING"
        )
        inserted = cursor.rowcount
        cursor.execute("TRUNCATE xapi_evidence_stage")
    return max(0, int(inserted))


@dataclass
class EvidenceBatch:
    """One page's writes, applied in this order: evidence rows, voidings, quarantine.

    ``unmatched`` (unknown actors: count, first and last ``stored``) is recorded
    only once the batch is committed, so a crash cannot count a page twice.
    """

    rows: list[EvidenceRow] = field(default_factory=list)
    voids: list[tuple[str, str]] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    unmatched: dict[str, list[Any]] = field(default_factory=dict)
    copy_text: bytes | None = None
    # Rows split for parallel writers, each part with its COPY text.
    parts: list[tuple[list[EvidenceRow], bytes]] = field(default_factory=list)


def write_batch(
    connection: Session | Connection, tenant_id: int, batch: EvidenceBatch
) -> Counter[str]:
    """Apply one page's writes; returns evidence counters.

    Given a session, the voiding UPDATE also refreshes evidence it has loaded.
    """
    counters: Counter[str] = Counter()
    if batch.rows:
        raw = connection.connection() if isinstance(connection, Session) else connection
        counters["evidence"] += _insert_evidence_rows(raw, batch.rows, batch.copy_text)
    if batch.voids:
        now = utcnow()
        connection.execute(
            _insert(connection, VoidedStatement),
            [
                {
                    "tenant_id": tenant_id,
                    "statement_id": target,
                    "voided_by": by,
                    "voided_at": now,
                }
                for target, by in batch.voids
            ],
        )
        result = connection.execute(
            update(Evidence)
            .where(
                Evidence.tenant_id == tenant_id,
                Evidence.statement_id.in_([target for target, _ in batch.voids]),
                Evidence.voided.is_(False),
            )
            .values(voided=True)
        )
        counters["voided_evidence"] += int(getattr(result, "rowcount", 0) or 0)
    if batch.quarantine:
        connection.execute(_insert(connection, QuarantinedStatement), batch.quarantine)
    return counters


def _timestamp(value: Any) -> dt.datetime | None:
    """``st.parse_timestamp`` with a fast path for the usual ISO 8601 text."""
    if isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return st.parse_timestamp(value)
        if moment.tzinfo is not None:
            return moment.astimezone(dt.UTC)
    return st.parse_timestamp(value)


@dataclass(frozen=True, slots=True)
class _SkillLink:
    skill_id: int
    weight: float
    level: int | None
    activity_id: int | None


class EvidenceProcessor:
    """Turns pages of one connection's statements into evidence rows.

    Caches what does not change during a run (rules, skills, activity tags, people).
    ``prepare`` does the per-statement work without touching the database tables it
    writes, so a page can be written by another connection (``write_batch``) while
    the next one is prepared.
    """

    def __init__(self, session: Session, connection: LrsConnection) -> None:
        self.session = session
        self.connection = connection
        self.tenant_id = connection.tenant_id
        self.rules = load_rules(session, tenant_id=connection.tenant_id)
        issuer, deployment_id = _tenant_identity(session, connection.tenant_id)
        self.home_page = st.account_home_page(
            issuer,
            deployment_id,
            include_deployment=connection.home_page_includes_deployment,
            override=connection.home_page_override,
        ).rstrip("/")
        self.mbox_mode = connection.actor_mode == ACTOR_MBOX
        self.people: dict[str, int | None] = {}
        self._all_people_loaded = False
        self._skills_by_key = self._load_skill_keys()
        self._activity_skills = self._load_activity_skills()
        self._email_people: dict[str, int] = {}
        if self.mbox_mode:
            self._load_emails()
        self.unmatched: dict[str, list[Any]] = {}
        self._preload_people()
        # Voided ids are few; holding them saves a lookup per page.
        self.voided: set[str] = set(
            session.scalars(
                select(VoidedStatement.statement_id).where(
                    VoidedStatement.tenant_id == self.tenant_id
                )
            )
        )

    def _preload_people(self, limit: int = 500_000) -> None:
        """Know every person of the tenant up front (one query, not one per page)."""
        total = self.session.scalar(
            select(func.count()).where(Person.tenant_id == self.tenant_id)
        )
        if not total or total > limit:
            return
        prefix = f"account:{self.home_page}|"
        for sub, person_id in self.session.execute(
            select(Person.sub, Person.id).where(Person.tenant_id == self.tenant_id)
        ):
            self.people[prefix + str(sub)] = int(person_id)
        self._all_people_loaded = True

    # -- caches ---------------------------------------------------------------

    def _frameworks(self) -> Any:
        return or_(Framework.tenant_id == self.tenant_id, Framework.tenant_id.is_(None))

    def _load_skill_keys(self) -> dict[str, list[int]]:
        mapping: dict[str, list[int]] = {}
        rows = self.session.execute(
            select(Skill.id, Skill.key, Framework.key)
            .join(Framework, Framework.id == Skill.framework_id)
            .where(self._frameworks())
        )
        for skill_id, key, framework_key in rows:
            mapping.setdefault(key, []).append(skill_id)
            mapping.setdefault(f"{framework_key}/{key}", []).append(skill_id)
        return mapping

    def _load_activity_skills(self) -> dict[str, list[_SkillLink]]:
        mapping: dict[str, list[_SkillLink]] = {}
        rows = self.session.execute(
            select(
                Activity.url,
                Activity.id,
                ActivitySkill.skill_id,
                ActivitySkill.weight,
                ActivitySkill.level,
            )
            .join(ActivitySkill, ActivitySkill.activity_id == Activity.id)
            .join(Framework, Framework.id == Activity.framework_id)
            .where(self._frameworks(), Activity.url.is_not(None))
        )
        for url, activity_id, skill_id, weight, level in rows:
            mapping.setdefault(str(url), []).append(
                _SkillLink(skill_id, float(weight), level, activity_id)
            )
        return mapping

    def _load_emails(self) -> None:
        rows = self.session.execute(
            select(Person.id, Person.email).where(
                Person.tenant_id == self.tenant_id, Person.email.is_not(None)
            )
        )
        for person_id, email in rows:
            mailto = "mailto:" + str(email).strip().lower()
            self._email_people["mbox:" + mailto] = person_id
            sha = hashlib.sha1(mailto.encode()).hexdigest()  # noqa: S324 - xAPI IFI
            self._email_people["sha1:" + sha] = person_id

    def resolve_people(self, keys: Iterable[str]) -> None:
        """Fill the people cache for actor keys not seen yet (one query per page)."""
        subs: dict[str, str] = {}
        for key in keys:
            if key in self.people:
                continue
            if key.startswith("account:"):
                home, _, sub = key[len("account:") :].rpartition("|")
                if home.rstrip("/") == self.home_page:
                    if self._all_people_loaded:
                        canonical = f"account:{self.home_page}|{sub}"
                        self.people[key] = self.people.get(canonical)
                    else:
                        subs[sub] = key
                    continue
            self.people[key] = self._email_people.get(key) if self.mbox_mode else None
        if not subs:
            return
        found: dict[str, int] = {}
        names = list(subs)
        for start in range(0, len(names), 500):
            rows = self.session.execute(
                select(Person.sub, Person.id).where(
                    Person.tenant_id == self.tenant_id,
                    Person.sub.in_(names[start : start + 500]),
                )
            )
            found.update({str(sub): int(pid) for sub, pid in rows})
        for sub, key in subs.items():
            self.people[key] = found.get(sub)

    # -- per page ---------------------------------------------------------------

    def process(
        self,
        raw_statements: Sequence[Any],
        counters: Counter[str],
        seen: Callable[[str, dt.datetime], bool],
    ) -> dt.datetime | None:
        """Process and write one page; return the greatest ``stored`` read."""
        newest, batch = self.prepare(raw_statements, counters, seen)
        counters.update(write_batch(self.session, self.tenant_id, batch))
        self.absorb(batch)
        return newest

    def prepare(
        self,
        raw_statements: Sequence[Any],
        counters: Counter[str],
        seen: Callable[[str, dt.datetime], bool],
    ) -> tuple[dt.datetime | None, EvidenceBatch]:
        """Read, de-duplicate and judge one page; return its newest ``stored`` and
        the writes it needs (not applied yet)."""
        batch = EvidenceBatch()
        readable: list[st.Incoming] = []
        newest: dt.datetime | None = None
        now = utcnow()
        read = st.read_incoming
        fetched = malformed = duplicates = 0
        for raw in raw_statements:
            fetched += 1
            item = read(raw)
            if isinstance(item, str):
                malformed += 1
                batch.quarantine.append(self._quarantine_row(raw, item, now))
                continue
            stored = item.stored
            if newest is None or stored > newest:
                newest = stored
            if seen(item.id, stored):
                duplicates += 1
                continue
            readable.append(item)
        counters["fetched"] += fetched
        if malformed:
            counters["malformed"] += malformed
        if duplicates:
            counters["duplicates"] += duplicates
        people = self.people
        missing = {
            i.actor_key
            for i in readable
            if i.actor_key and i.voids is None and i.actor_key not in people
        }
        if missing:
            self.resolve_people(missing)

        rows = batch.rows
        voided = self.voided
        match = self.rules.match
        own = st.is_own_statement
        add_rows = self._evidence_rows
        outcomes: Counter[str] = Counter()
        for item in readable:
            if item.voids is not None:
                batch.voids.append((item.voids, item.id))
                outcomes["voiding"] += 1
                continue
            raw = item.raw
            if own(raw):
                outcomes["own"] += 1
                continue
            matches = match(raw, item.verb, item.object_id, item.object_type)
            if not matches:
                outcomes["unmatched_rule"] += 1
                continue
            key = item.actor_key
            person_id = people.get(key) if key else None
            if person_id is None:
                outcomes["unmatched_actor"] += 1
                if key:
                    _note(batch.unmatched, key, item.stored)
                continue
            if add_rows(item, person_id, matches, rows, now, item.id in voided):
                outcomes["matched"] += 1
            else:
                outcomes["no_skill"] += 1
        counters.update(outcomes)
        # Rows of this page are marked above from earlier voidings; the writer's
        # UPDATE (after this page's INSERT) catches targets in this very page.
        voided.update(target for target, _ in batch.voids)
        return newest, batch

    def absorb(self, batch: EvidenceBatch) -> None:
        """Count a committed batch's unknown actors (recorded by flush_unmatched)."""
        for key, (count, first, last) in batch.unmatched.items():
            entry = self.unmatched.get(key)
            if entry is None:
                self.unmatched[key] = [count, first, last]
            else:
                entry[0] += count
                entry[1] = min(entry[1], first)
                entry[2] = max(entry[2], last)

    def _quarantine_row(
        self, raw: Any, reason: str, now: dt.datetime
    ) -> dict[str, Any]:
        try:
            text = json.dumps(raw, sort_keys=True, ensure_ascii=False)
        except (TypeError, ValueError):
            text = repr(raw)
        sid = raw.get("id") if isinstance(raw, dict) else None
        return {
            "connection_id": self.connection.id,
            "fingerprint": hashlib.sha256(text.encode("utf-8")).hexdigest(),
            "statement_id": str(sid)[:64] if sid is not None else None,
            "reason": reason[:500],
            "raw": text[:20000],
            "created_at": now,
        }

    def _evidence_rows(
        self,
        item: st.Incoming,
        person_id: int,
        matches: Sequence[Any],
        rows: list[EvidenceRow],
        now: dt.datetime,
        voided: bool,
    ) -> bool:
        """Append the statement's evidence rows; False when no skill was found."""
        occurred = _timestamp(item.raw.get("timestamp")) or item.stored
        tenant_id = self.tenant_id
        statement_id = item.id
        skills_by_key = self._skills_by_key
        used: set[int] = set()
        for match in matches:
            links: list[_SkillLink] = []
            for ref in match.skills:
                for skill_id in skills_by_key.get(ref.key, ()):
                    links.append(_SkillLink(skill_id, ref.weight, None, None))
            if match.use_activity_skills:
                links.extend(self._activity_skills.get(item.object_id, ()))
            outcome = match.outcome
            weight = match.weight
            level = match.level
            rule_key = match.rule_key
            for link in links:
                if link.skill_id in used:
                    continue
                used.add(link.skill_id)
                rows.append(
                    (
                        tenant_id,
                        person_id,
                        link.skill_id,
                        outcome,
                        weight * link.weight,
                        level if level is not None else link.level,
                        "xapi",
                        link.activity_id,
                        statement_id,
                        rule_key,
                        occurred,
                        voided,
                        now,
                    )
                )
        return bool(used)

    def flush_unmatched(self) -> None:
        """Record unknown actors so their statements are pulled when they launch."""
        if not self.unmatched:
            return
        keys = list(self.unmatched)
        existing = {
            row.actor_key: row
            for row in self.session.scalars(
                select(UnmatchedActor).where(
                    UnmatchedActor.connection_id == self.connection.id,
                    UnmatchedActor.actor_key.in_(keys),
                )
            )
        }
        for key, (count, first, last) in self.unmatched.items():
            row = existing.get(key)
            if row is None:
                self.session.add(
                    UnmatchedActor(
                        connection_id=self.connection.id,
                        actor_key=key[:700],
                        statements=count,
                        first_stored=first,
                        last_stored=last,
                    )
                )
            else:
                row.statements += count
                row.first_stored = min(row.first_stored, first)
                row.last_stored = max(row.last_stored, last)
        self.unmatched.clear()
        self.session.flush()


def _note(unmatched: dict[str, list[Any]], key: str, stored: dt.datetime) -> None:
    entry = unmatched.get(key)
    if entry is None:
        unmatched[key] = [1, stored, stored]
        return
    entry[0] += 1
    if stored < entry[1]:
        entry[1] = stored
    if stored > entry[2]:
        entry[2] = stored


def prefetch(pages: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Fetch the next pages in a thread while the caller processes this one."""
    buffer: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for page in pages:
                while not stop.is_set():
                    try:
                        buffer.put(("page", page), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            buffer.put(("end", None))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the consumer
            buffer.put(("error", exc))

    thread = threading.Thread(target=produce, name="lrs-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = buffer.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        thread.join(timeout=5)


class EvidenceWriter:
    """Commits prepared pages in order on its own database connections, in threads.

    The sync prepares page n+1 (Python) while page n is written (database server):
    on Postgres the foreign-key checks and index updates of the evidence rows cost
    as much as the Python work, and they now overlap. A page's rows are split into
    ``parallel`` parts inserted at once by as many connections (server processes);
    its voidings follow once every part has committed, so they always see the
    rows they void. ``finished()`` hands back the pages whose writes committed, so
    the caller moves its cursor only past evidence that is safely stored.
    """

    def __init__(
        self, engine: Engine, tenant_id: int, *, depth: int = 2, parallel: int = 2
    ) -> None:
        self._engine = engine
        self._tenant_id = tenant_id
        self.parallel = max(1, parallel)
        self._jobs: queue.Queue[tuple[int, EvidenceBatch] | None] = queue.Queue(
            maxsize=depth
        )
        self._done: queue.Queue[tuple[int, EvidenceBatch, Counter[str]]] = queue.Queue()
        self._abort = threading.Event()
        self._error: BaseException | None = None
        self.submitted = 0
        self.committed = 0
        self._thread = threading.Thread(
            target=self._run, name="evidence-writer", daemon=True
        )
        self._thread.start()

    def prepare(self, batch: EvidenceBatch) -> None:
        """Split and format the batch's rows (in the caller's thread)."""
        size = -(-len(batch.rows) // self.parallel) or 1
        batch.parts = [
            (part, copy_text(part))
            for part in (
                batch.rows[i : i + size] for i in range(0, len(batch.rows), size)
            )
        ]

    @staticmethod
    def _insert_part(
        connection: Connection, part: tuple[list[EvidenceRow], bytes]
    ) -> int:
        with connection.begin():
            return _insert_evidence_rows(connection, part[0], part[1])

    def _run(self) -> None:
        try:
            with contextlib.ExitStack() as stack:
                connections = [
                    stack.enter_context(self._engine.connect())
                    for _ in range(self.parallel)
                ]
                pool = stack.enter_context(
                    ThreadPoolExecutor(max_workers=self.parallel)
                )
                while True:
                    job = self._jobs.get()
                    if job is None or self._abort.is_set():
                        return
                    seq, batch = job
                    futures = [
                        pool.submit(self._insert_part, connections[index], part)
                        for index, part in enumerate(batch.parts)
                    ]
                    counters: Counter[str] = Counter()
                    counters["evidence"] += sum(f.result() for f in futures)
                    rest = EvidenceBatch(voids=batch.voids, quarantine=batch.quarantine)
                    with connections[0].begin():
                        counters.update(
                            write_batch(connections[0], self._tenant_id, rest)
                        )
                    self._done.put((seq, batch, counters))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the sync
            self._error = exc

    def _check(self) -> None:
        if self._error is not None:
            raise self._error
        if not self._thread.is_alive() and not self._abort.is_set():
            raise RuntimeError("the evidence writer stopped")

    def submit(self, batch: EvidenceBatch) -> int:
        """Queue a page's writes (waits while ``depth`` pages are queued)."""
        self.submitted += 1
        while True:
            self._check()
            try:
                self._jobs.put((self.submitted, batch), timeout=0.05)
                return self.submitted
            except queue.Full:
                continue

    def finished(
        self, *, wait: bool = False
    ) -> list[tuple[int, EvidenceBatch, Counter[str]]]:
        """Pages committed since the last call (all submitted ones when ``wait``)."""
        out: list[tuple[int, EvidenceBatch, Counter[str]]] = []
        while True:
            try:
                out.append(self._done.get(timeout=0.05 if wait else 0))
                self.committed = out[-1][0]
            except queue.Empty:
                self._check()
                if not wait or self.committed >= self.submitted:
                    return out

    def close(self, *, abort: bool = False) -> None:
        """Stop the thread: after the queued pages, or at once (``abort``)."""
        if abort:
            self._abort.set()
        while self._thread.is_alive():
            try:
                self._jobs.put(None, timeout=0.05)
                break
            except queue.Full:
                if abort:
                    self._drain_jobs()
        self._thread.join(timeout=60 if not abort else 5)

    def _drain_jobs(self) -> None:
        while True:
            try:
                self._jobs.get_nowait()
            except queue.Empty:
                return


class _Window:
    """Statement ids seen in the overlap window (and this run), for de-duplication.

    Each id remembers the page it came in (``page``; -1 for the last run's
    boundary), so the boundary saved with a cursor holds only committed pages.
    """

    def __init__(self, boundary: Iterable[str]) -> None:
        self.ids: dict[str, tuple[dt.datetime | None, int]] = dict.fromkeys(
            boundary, (None, -1)
        )
        self.page = 0

    def seen(self, statement_id: str, stored: dt.datetime) -> bool:
        known = self.ids.get(statement_id)
        if known is None:
            self.ids[statement_id] = (stored, self.page)
            return False
        if known[0] is None:
            self.ids[statement_id] = (stored, known[1])
        return True

    def boundary(
        self, cursor: dt.datetime, overlap: dt.timedelta, through_page: int | None
    ) -> list[str]:
        """Ids to remember for the next run: stored at or after cursor - overlap
        (and read in a page up to ``through_page``, when given)."""
        edge = cursor - overlap
        keep = {i: v for i, v in self.ids.items() if v[0] is not None and v[0] >= edge}
        self.ids = keep
        if through_page is None:
            return sorted(keep)
        return sorted(i for i, v in keep.items() if v[1] <= through_page)


def _acquire_lease(
    session: Session, cursor: SyncCursor, owner: str, now: dt.datetime
) -> bool:
    result = session.execute(
        update(SyncCursor)
        .where(
            SyncCursor.connection_id == cursor.connection_id,
            or_(
                SyncCursor.lease_until.is_(None),
                SyncCursor.lease_until < now,
                SyncCursor.lease_owner == owner,
            ),
        )
        .values(lease_owner=owner, lease_until=now + dt.timedelta(seconds=LEASE_S))
        .execution_options(synchronize_session=False)
    )
    session.refresh(cursor)
    return int(getattr(result, "rowcount", 0) or 0) == 1


def _writer_engine(session: Session, checkpoint: Checkpoint) -> Engine | None:
    """The engine for a concurrent evidence writer, when one is safe to use.

    Only when the caller commits at checkpoints (a job or the CLI: its session is
    bound to the engine, so another connection sees what it committed) and on
    Postgres; tests' rolled-back sessions and SQLite write inline.
    """
    if checkpoint is _no_checkpoint:
        return None
    bind = session.get_bind()
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql":
        return bind
    return None


def sync_connection(
    session: Session,
    *,
    connection_id: int,
    client: LrsClient | None = None,
    checkpoint: Checkpoint = _no_checkpoint,
    max_pages: int | None = None,
    progress: Callable[[SyncReport], None] | None = None,
    prefetch_depth: int = 2,
    concurrent_writes: bool | None = None,
) -> SyncReport:
    """Incremental sync of one connection: page on ``stored`` ascending from the cursor.

    The cursor moves to the newest ``stored`` read, capped at the LRS's
    Consistent-Through; the next run starts ``overlap_s`` earlier and skips ids it
    already saw. ``checkpoint`` runs after every page (the job commits there), so an
    outage loses no progress; the run then ends with ``complete=False``.

    Three stages overlap: a thread fetches the next page, this thread judges the
    current one, and (when ``concurrent_writes`` is not False and the caller
    commits, on Postgres) an ``EvidenceWriter`` commits the previous one on its own
    connections. The cursor only ever moves past pages the writer has committed.
    """
    connection = session.get(LrsConnection, connection_id)
    if connection is None:
        raise ValueError(f"no LRS connection {connection_id}")
    report = SyncReport()
    if not (connection.active and connection.sync_enabled):
        report.error = "connection is inactive or sync is disabled"
        report.complete = False
        return report
    cursor = session.get(SyncCursor, connection_id)
    if cursor is None:
        cursor = SyncCursor(connection_id=connection_id, boundary_ids=[], totals={})
        session.add(cursor)
        session.flush()
    owner = uuid.uuid4().hex
    if not _acquire_lease(session, cursor, owner, utcnow()):
        report.error = "another sync of this connection is running"
        report.complete = False
        return report
    run = SyncRun(connection_id=connection_id, kind="full", status=RUN_RUNNING)
    session.add(run)
    session.flush()
    report.run_id = run.id
    checkpoint()

    own_client = client is None
    lrs = client or client_for(connection)
    overlap = dt.timedelta(seconds=connection.overlap_s)
    window = _Window(cursor.boundary_ids or [])
    since = cursor.last_stored - overlap if cursor.last_stored else None
    processor = EvidenceProcessor(session, connection)
    engine = None if concurrent_writes is False else _writer_engine(session, checkpoint)
    writer = EvidenceWriter(engine, connection.tenant_id) if engine else None
    # Cursor positions reached after each page handed to the writer, by page number.
    positions: dict[int, dt.datetime | None] = {}
    consistent_through: dt.datetime | None = None
    position = cursor.last_stored
    committed_position = position
    pages = 0
    unmatched_due = time.monotonic() + UNMATCHED_FLUSH_S

    def settle(*, wait: bool = False) -> None:
        """Take in pages the writer committed; move the saved cursor to them."""
        nonlocal committed_position
        if writer is None:
            return
        for seq, batch, counters in writer.finished(wait=wait):
            report.counters.update(counters)
            processor.absorb(batch)
            committed_position = positions.pop(seq)

    try:
        if connection.xapi_version is None:
            connection.xapi_version = lrs.negotiate_version()
        # Follow `more` to its end; then ask again from where we are. Some LRSs end
        # `more` early (xapi-statements 5 compares v1-UUID cursors as strings, which
        # wrap every ~7 minutes), so a run ends only when a fresh query brings
        # nothing new.
        stop = False
        limit = connection.page_size
        while not stop:
            query = StatementQuery(since=since, limit=limit, ascending=True)
            fresh_before = report.counters["fetched"] - report.counters["duplicates"]
            first_page_full: bool | None = None
            for page in prefetch(lrs.iter_pages(query), depth=prefetch_depth):
                if first_page_full is None:
                    first_page_full = len(page.statements) >= limit
                pages += 1
                report.counters["pages"] += 1
                if consistent_through is None:
                    # Statements stored after this instant may still be arriving.
                    consistent_through = page.consistent_through or utcnow()
                window.page = writer.submitted + 1 if writer else pages
                newest, batch = processor.prepare(
                    page.statements, report.counters, window.seen
                )
                if newest is not None:
                    capped = min(newest, consistent_through)
                    if position is None or capped > position:
                        position = capped
                if writer is None:
                    report.counters.update(
                        write_batch(session, connection.tenant_id, batch)
                    )
                    processor.absorb(batch)
                    committed_position = position
                else:
                    writer.prepare(batch)
                    positions[writer.submit(batch)] = position
                    settle()
                _save_cursor(
                    session,
                    cursor,
                    run,
                    report,
                    committed_position,
                    window,
                    overlap,
                    owner,
                    writer.committed if writer else None,
                )
                if time.monotonic() >= unmatched_due:
                    # Unknown actors are few and only counted: record them every
                    # few seconds (and at the end), not with every page.
                    processor.flush_unmatched()
                    unmatched_due = time.monotonic() + UNMATCHED_FLUSH_S
                checkpoint()
                if progress is not None:
                    progress(report)
                if max_pages is not None and pages >= max_pages:
                    report.complete = False
                    stop = True
                    break
            fresh = report.counters["fetched"] - report.counters["duplicates"]
            if position is None:
                stop = True
            elif fresh > fresh_before:
                since = position - dt.timedelta(milliseconds=1)
                limit = connection.page_size
            elif first_page_full and limit < MAX_RETRY_LIMIT:
                # Nothing new, but a whole page of already-seen statements sharing
                # one `stored` may hide more behind it: ask again with bigger pages.
                limit = min(MAX_RETRY_LIMIT, limit * 4)
            else:
                stop = True
        settle(wait=True)
        run.status = RUN_OK if report.complete else RUN_PARTIAL
    except LrsError as exc:
        # What was read before the outage is kept: finish writing it first.
        settle(wait=True)
        report.complete = False
        report.error = str(exc)[:2000]
        run.status = RUN_FAILED
        log.warning("sync of LRS %s stopped: %s", connection_id, exc)
    except BaseException:
        if writer is not None:
            writer.close(abort=True)
        raise
    finally:
        if own_client:
            lrs.close()
    if writer is not None:
        writer.close()
    run.error = report.error
    run.finished_at = utcnow()
    cursor.last_error = report.error
    cursor.lease_owner = None
    cursor.lease_until = None
    _save_cursor(
        session, cursor, run, report, committed_position, window, overlap, owner, None
    )
    processor.flush_unmatched()
    cursor.totals = _add_totals(cursor.totals, report.counters)
    session.flush()
    checkpoint()
    return report


def _add_totals(
    totals: Mapping[str, int] | None, counters: Counter[str]
) -> dict[str, int]:
    merged = Counter(dict(totals or {}))
    merged.update(counters)
    return dict(merged)


def _save_cursor(
    session: Session,
    cursor: SyncCursor,
    run: SyncRun,
    report: SyncReport,
    position: dt.datetime | None,
    window: _Window,
    overlap: dt.timedelta,
    owner: str,
    through_page: int | None,
) -> None:
    if position is not None:
        cursor.last_stored = position
        cursor.boundary_ids = window.boundary(position, overlap, through_page)
    cursor.last_run_at = utcnow()
    if cursor.lease_owner == owner:
        cursor.lease_until = utcnow() + dt.timedelta(seconds=LEASE_S)
    run.counters = dict(report.counters)
    session.flush()


@dataclass
class PullReport:
    complete: bool
    counters: Counter[str] = field(default_factory=Counter)
    connections: int = 0


def pull_learner_statements(
    session: Session,
    *,
    person_id: int,
    budget_s: float,
    client_factory: ClientFactory | None = None,
    checkpoint: Checkpoint = _no_checkpoint,
    clock: Callable[[], float] = time.monotonic,
) -> PullReport:
    """At launch, pull the person's own new statements within ``budget_s`` seconds.

    Statements of someone not yet known were only counted by the background sync
    (``UnmatchedActor``); this pull reads their history by agent, so they become
    evidence at first launch. When the budget runs out, the caller enqueues
    ``xapi.jobs.continue_learner_pull`` and the learner cursor keeps the place.
    """
    person = session.get(Person, person_id)
    if person is None:
        raise ValueError(f"no person {person_id}")
    deadline = clock() + budget_s
    report = PullReport(complete=True)
    connections = [
        c for c in _active_connections(session, person.tenant_id) if c.sync_enabled
    ]
    for connection in connections:
        report.connections += 1
        done = _pull_one(
            session,
            connection=connection,
            person=person,
            deadline=deadline,
            counters=report.counters,
            client_factory=client_factory or client_for,
            checkpoint=checkpoint,
            clock=clock,
        )
        report.complete = report.complete and done
    return report


def pull_at_launch(
    session: Session,
    *,
    person_id: int,
    budget_s: float,
    client_factory: ClientFactory | None = None,
) -> PullReport:
    """The launch hook: pull within the budget, continue in the background if needed.

    Call it in the launch's transaction with ``Settings.lrs_pull_budget_s``; the
    follow-up job is enqueued only after that transaction commits.
    """
    report = pull_learner_statements(
        session, person_id=person_id, budget_s=budget_s, client_factory=client_factory
    )
    if not report.complete:

        def resume() -> None:
            from lti_tool.infra.queue import QUEUE_SYNC, enqueue
            from xapi.jobs import continue_learner_pull

            enqueue(continue_learner_pull, person_id, queue=QUEUE_SYNC)

        after_commit(session, f"xapi_pull_{person_id}", resume)
    return report


def _client_deadline(
    client: LrsClient, deadline: float | None, clock: Callable[[], float]
) -> float | None:
    """Translate our deadline into the client's clock."""
    if deadline is None:
        return None
    return client._clock() + (deadline - clock())


def _pull_one(
    session: Session,
    *,
    connection: LrsConnection,
    person: Person,
    deadline: float | None,
    counters: Counter[str],
    client_factory: ClientFactory,
    checkpoint: Checkpoint,
    clock: Callable[[], float],
) -> bool:
    state = session.get(LearnerCursor, (connection.id, person.id))
    if state is None:
        state = LearnerCursor(connection_id=connection.id, person_id=person.id)
        session.add(state)
        session.flush()
    keys = _person_actor_keys(session, connection, person)
    processor = EvidenceProcessor(session, connection)
    overlap = dt.timedelta(seconds=connection.overlap_s)
    client = client_factory(connection)
    window = _Window(())
    complete = True
    try:
        # The agent filter takes one identifier; mbox mode asks for both forms.
        for key in keys[:2] if connection.actor_mode == ACTOR_MBOX else keys[:1]:
            since = state.last_stored - overlap if state.last_stored else None
            query = StatementQuery(
                agent=st.actor_filter(key),
                since=since,
                limit=connection.page_size,
                ascending=True,
            )
            newest_seen = state.last_stored
            consistent: dt.datetime | None = None
            page = client.get_statements(
                query, deadline=_client_deadline(client, deadline, clock)
            )
            while True:
                if consistent is None:
                    consistent = page.consistent_through or utcnow()
                newest = processor.process(page.statements, counters, window.seen)
                if newest is not None:
                    capped = min(newest, consistent)
                    if newest_seen is None or capped > newest_seen:
                        newest_seen = capped
                        # Pages are whole and ascending: all before this is processed.
                        state.last_stored = newest_seen
                session.flush()
                if not page.more:
                    break
                if deadline is not None and clock() >= deadline:
                    complete = False
                    break
                page = client.get_more(
                    page.more,
                    query=query,
                    deadline=_client_deadline(client, deadline, clock),
                )
            if not complete:
                break
    except BudgetExceeded:
        complete = False
    except LrsError as exc:
        log.warning("launch pull from LRS %s failed: %s", connection.id, exc)
        complete = False
    finally:
        client.close()
    state.complete = complete
    if complete:
        session.execute(
            delete(UnmatchedActor).where(
                UnmatchedActor.connection_id == connection.id,
                UnmatchedActor.actor_key.in_(keys),
            )
        )
    processor.flush_unmatched()
    session.flush()
    checkpoint()
    return complete


# ---------------------------------------------------------------------------
# Console and CLI queries


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
