"""Persistence wiring: the declarative Base, the engine, and transaction scopes."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    Insert,
    MetaData,
    create_engine,
    event,
    insert,
    make_url,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool
from sqlalchemy.types import TypeDecorator

# Stable constraint names so Alembic migrations are identical on SQLite and Postgres.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self, value: dt.datetime | None, dialect: Any
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Any
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime()}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _enable_sqlite_foreign_keys(
    dbapi_conn: DBAPIConnection, _: ConnectionPoolEntry
) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    # WAL lets readers run beside the one writer (embedded mode serves threads).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _begin_before_sqlite_savepoint(conn: Connection, name: str) -> None:
    """Open the transaction before a SAVEPOINT on SQLite.

    pysqlite begins a transaction only before a write; a SAVEPOINT issued first starts
    one of its own, and releasing it then commits. A dry run (always rolled back) or an
    all-or-nothing import whose first write sits in a nested block would keep what the
    block wrote. A deferred BEGIN first, as pysqlite would emit before the write, makes
    the savepoint nest inside the session's transaction as it does on PostgreSQL.
    """
    raw = conn.connection.dbapi_connection
    if raw is not None and not getattr(raw, "in_transaction", True):
        raw.cursor().execute("BEGIN")


def prepare_sqlite_file(database_url: str) -> None:
    """Create the embedded database's folder (0700) and file (0600) if they are new.

    SQLite would create the file with the process umask (often 0644): readable by
    every local user, with every learner's record and the install's audit log in it.
    SQLite gives its -wal and -shm files the database file's mode.
    """
    name = make_url(database_url).database
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    path = Path(name)
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def make_engine(database_url: str) -> Engine:
    """Create an engine with the options each backend needs."""
    if database_url.startswith("sqlite"):
        prepare_sqlite_file(database_url)
        kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
        if database_url in {"sqlite://", "sqlite:///:memory:"}:
            kwargs["poolclass"] = StaticPool
        engine = create_engine(database_url, **kwargs)
        event.listen(engine, "connect", _enable_sqlite_foreign_keys)
        event.listen(engine, "savepoint", _begin_before_sqlite_savepoint)
        return engine
    return create_engine(
        database_url, pool_pre_ping=True, pool_size=10, max_overflow=20
    )


def insert_skipping_duplicates(session: Session | Connection, model: Any) -> Insert:
    """An INSERT that skips rows violating a unique constraint (Postgres or SQLite).

    On Postgres a row that conflicts with a concurrent transaction's uncommitted one
    waits for it, then is skipped if that transaction commits: no savepoint needed.
    """
    bind = session if isinstance(session, Connection) else session.get_bind()
    dialect = bind.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(model).on_conflict_do_nothing()
    return insert(model)


class Database:
    """One engine and session factory per process; configured by the entry point."""

    def __init__(self) -> None:
        self._engine: Engine | None = None
        self._factory: sessionmaker[Session] | None = None
        self.url: str | None = None

    def configure(self, database_url: str, engine: Engine | None = None) -> None:
        if self._engine is not None and self.url == database_url and engine is None:
            return
        self._engine = engine or make_engine(database_url)
        self._factory = sessionmaker(bind=self._engine, expire_on_commit=False)
        self.url = database_url

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError(
                "database not configured: call db.configure(settings.database_url)"
            )
        return self._engine

    def session(self) -> Session:
        if self._factory is None:
            raise RuntimeError(
                "database not configured: call db.configure(settings.database_url)"
            )
        return self._factory()


db = Database()


@contextmanager
def session_scope() -> Iterator[Session]:
    """A unit of work for jobs and CLI commands: commit on success, roll back on error."""
    session = db.session()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
