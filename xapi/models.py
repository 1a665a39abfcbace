"""Persistence for xAPI: LRS connections, sync state, outbox, quarantine, rules."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from lti_tool.infra import revision
from lti_tool.infra.crypto import secret_box
from lti_tool.infra.db import Base, utcnow

ACTOR_ACCOUNT = "account"
ACTOR_MBOX = "mbox"
# Measured with bench/ingest.py (docs/operations.md, "LRS page size"): raw paging
# and the sync are as fast at 5,000 as at 10,000 and twice as fast as at 1,000
# (the LRS's cost per page is amortised), while a page (~3.5 MB) stays well inside
# the 10 MiB answer cap of the outbound client.
DEFAULT_PAGE_SIZE = 5000

# What incoming statements are matched on (separate from actor_mode, what we send).
MATCH_ALL = "all"
MATCH_ACCOUNT = "account"
MATCH_EMAIL = "email"
MATCH_MODES = (MATCH_ALL, MATCH_ACCOUNT, MATCH_EMAIL)

OUTBOX_PENDING = "pending"
OUTBOX_DELIVERED = "delivered"
OUTBOX_CONFLICT = "conflict"
OUTBOX_PARKED = "parked"
OUTBOX_STATUSES = (OUTBOX_PENDING, OUTBOX_DELIVERED, OUTBOX_CONFLICT, OUTBOX_PARKED)

RUN_RUNNING = "running"
RUN_OK = "ok"
RUN_FAILED = "failed"
RUN_PARTIAL = "partial"


class LrsConnection(Base):
    """A tenant's LRS: where to read evidence from and write our statements to."""

    __tablename__ = "lrs_connections"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    endpoint: Mapped[str] = mapped_column(String(1000))
    username: Mapped[str] = mapped_column(String(300))
    secret_encrypted: Mapped[str] = mapped_column(Text)
    # How we name people in the statements we send: account (homePage = LTI issuer,
    # name = sub) or mbox.
    actor_mode: Mapped[str] = mapped_column(String(10), default=ACTOR_ACCOUNT)
    # Which identities of a directory person incoming statements are matched on:
    # all (accounts, mbox, mbox_sha1sum), only accounts, or only emails.
    match_on: Mapped[str] = mapped_column(
        String(10), default=MATCH_ALL, server_default=MATCH_ALL
    )
    # Append the LTI deployment to account.homePage (one issuer, several tenants).
    home_page_includes_deployment: Mapped[bool] = mapped_column(default=False)
    # Explicit account.homePage when other sources use another one.
    home_page_override: Mapped[str | None] = mapped_column(String(1000), default=None)
    sync_enabled: Mapped[bool] = mapped_column(default=True)
    send_statements: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)
    # Detected from /about (or assumed 1.0.3 when the LRS has none).
    xapi_version: Mapped[str | None] = mapped_column(String(10), default=None)
    # Set by an admin: wins over detection, and /about is then not asked.
    xapi_version_override: Mapped[str | None] = mapped_column(String(10), default=None)
    page_size: Mapped[int] = mapped_column(Integer, default=DEFAULT_PAGE_SIZE)
    overlap_s: Mapped[float] = mapped_column(Float, default=2.0)
    timeout_s: Mapped[float] = mapped_column(Float, default=30.0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_tested_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_test_ok: Mapped[bool | None] = mapped_column(default=None)
    last_test_message: Mapped[str] = mapped_column(Text, default="")

    def set_password(self, password: str) -> None:
        self.secret_encrypted = secret_box().encrypt(password)

    def password(self) -> str:
        return secret_box().decrypt(self.secret_encrypted)


class SyncCursor(Base):
    """Where the incremental sync of one connection stands, and who holds its lease.

    ``boundary_ids`` are the statement ids seen at or after ``last_stored - overlap``:
    the next run re-reads that window (late arrivals) and skips these ids.
    """

    __tablename__ = "lrs_sync_cursors"

    connection_id: Mapped[int] = mapped_column(
        ForeignKey("lrs_connections.id", ondelete="CASCADE"), primary_key=True
    )
    last_stored: Mapped[dt.datetime | None] = mapped_column(default=None)
    boundary_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    lease_owner: Mapped[str | None] = mapped_column(String(100), default=None)
    lease_until: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_run_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_error: Mapped[str] = mapped_column(Text, default="")
    totals: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)


class SyncRun(Base):
    """One sync run with its counters (fetched, evidence, malformed, unmatched, ...)."""

    __tablename__ = "lrs_sync_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(
        ForeignKey("lrs_connections.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20), default="full")  # full | learner
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), default=None
    )
    status: Mapped[str] = mapped_column(String(20), default=RUN_RUNNING)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    counters: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    error: Mapped[str] = mapped_column(Text, default="")


class QueryCursor(Base):
    """How far a launch-time pull got for one agent query (connection, person, actor).

    One row per query shape: an account query and an mbox query of the same person
    reach different statements, so a place shared between them would skip some.
    """

    __tablename__ = "lrs_query_cursors"

    connection_id: Mapped[int] = mapped_column(
        ForeignKey("lrs_connections.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    # sha256 of actor_key: a short key, as an actor key may be 700 characters.
    query_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    actor_key: Mapped[str] = mapped_column(String(700))
    last_stored: Mapped[dt.datetime | None] = mapped_column(default=None)
    complete: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class OutboxStatement(Base):
    """A statement we emit, written in the transaction of the change it reports."""

    __tablename__ = "xapi_outbox"
    __table_args__ = (Index("ix_xapi_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), default=None
    )
    statement_id: Mapped[str] = mapped_column(String(36), unique=True)
    verb: Mapped[str] = mapped_column(String(40))
    # The canonical serialized statement: every delivery attempt sends these bytes.
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=OUTBOX_PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_status: Mapped[int | None] = mapped_column(Integer, default=None)
    connection_id: Mapped[int | None] = mapped_column(
        ForeignKey("lrs_connections.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class QuarantinedStatement(Base):
    """An incoming statement the sync could not read, kept with the reason."""

    __tablename__ = "xapi_quarantine"
    __table_args__ = (UniqueConstraint("connection_id", "fingerprint"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(
        ForeignKey("lrs_connections.id", ondelete="CASCADE"), index=True
    )
    fingerprint: Mapped[str] = mapped_column(String(64))
    statement_id: Mapped[str | None] = mapped_column(String(64), default=None)
    reason: Mapped[str] = mapped_column(String(500))
    raw: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class UnmatchedActor(Base):
    """Statements of someone not in the directory yet (picked up at import or launch)."""

    __tablename__ = "xapi_unmatched_actors"
    __table_args__ = (UniqueConstraint("connection_id", "actor_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(
        ForeignKey("lrs_connections.id", ondelete="CASCADE")
    )
    actor_key: Mapped[str] = mapped_column(String(700))
    statements: Mapped[int] = mapped_column(Integer, default=0)
    first_stored: Mapped[dt.datetime] = mapped_column()
    last_stored: Mapped[dt.datetime] = mapped_column()


class VoidedStatement(Base):
    """Ids voided in the LRS: evidence for them is voided even if it arrives later."""

    __tablename__ = "xapi_voided"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), primary_key=True
    )
    statement_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    voided_by: Mapped[str] = mapped_column(String(64))
    voided_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class EvidenceRuleSet(Base):
    """A tenant's evidence rules (JSON, see xapi.core.rules); absent = the defaults."""

    __tablename__ = "xapi_rule_sets"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), primary_key=True
    )
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str] = mapped_column(String(300), default="")


# Launches read these from a per-process cache (lti_tool.infra.revision).
revision.track(revision.CONFIG, LrsConnection, EvidenceRuleSet)
