"""Shared fixtures: settings, databases (SQLite or Postgres), Redis, the Flask app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from redis import Redis
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from lti_tool.infra.config import Settings
from lti_tool.infra.db import db, make_engine
from lti_tool.infra.outbound import configure_outbound
from lti_tool.infra.queue import job_queue
from lti_tool.runtime import wire_follow_up_jobs
from lti_tool.schema import full_metadata
from tests.support_env import (
    DEFAULT_TEST_POSTGRES_URL,
    DEFAULT_TEST_REDIS_URL,
    TEST_DATABASE_URL,
    TEST_REDIS_URL,
    make_test_settings,
    require_service,
    truncate_all,
)


@pytest.fixture(autouse=True)
def _database_handed_back() -> Iterator[None]:
    """A test that builds an app on settings of its own (``create_app`` configures the
    process-wide database) must not leave the next test on that app's database: the
    suite runs in random order, and a later test's ``session_scope`` then met a
    temporary SQLite file with no tables ("no such table: revisions")."""
    url = db.url
    engine = db.engine if url is not None else None
    yield
    if url is not None and db.engine is not engine:
        db.configure(url, engine=engine)


@pytest.fixture(autouse=True)
def _outbound_to_loopback() -> Iterator[None]:
    """Outbound fetches may reach the tests' local LMSs and LRSs, as in development
    (the process-wide policy fails closed, and a production test must not leak)."""
    configure_outbound(guard_internal=False, allow_hosts=())
    yield
    configure_outbound(guard_internal=False, allow_hosts=())


@pytest.fixture(autouse=True)
def _jobs_inline_at_once() -> Iterator[None]:
    """Every test starts with in-process jobs and no gather window: the job queue is
    process-wide, and an app built from default settings (a 1 s gather) left it
    scheduling runs ahead for a later test that counts queued jobs."""
    job_queue.configure(None, gather_s=0.0)
    yield
    job_queue.configure(None, gather_s=0.0)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if TEST_DATABASE_URL:
        return TEST_DATABASE_URL
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'pathwise.sqlite'}"


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    full_metadata().drop_all(eng)
    full_metadata().create_all(eng)
    db.configure(database_url, engine=eng)
    # Services kick follow-up jobs after commit; tests without an app wire them here.
    wire_follow_up_jobs()
    yield eng
    eng.dispose()


@pytest.fixture
def db_session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test."""
    connection = engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def redis_url() -> Iterator[str]:
    url = TEST_REDIS_URL or DEFAULT_TEST_REDIS_URL
    conn = Redis.from_url(url)
    try:
        conn.ping()
    except Exception as exc:  # noqa: BLE001 - any connection failure means "not here"
        require_service("Redis", str(exc))
    conn.flushdb()
    yield url
    conn.flushdb()
    conn.close()


@pytest.fixture
def postgres_url() -> str:
    url = TEST_DATABASE_URL or DEFAULT_TEST_POSTGRES_URL
    if not url.startswith("postgresql"):
        url = DEFAULT_TEST_POSTGRES_URL
    try:
        eng = make_engine(url)
        with eng.connect() as conn:
            conn.execute(text("select 1"))
        eng.dispose()
    except Exception as exc:  # noqa: BLE001
        require_service("PostgreSQL", str(exc))
    return url


@pytest.fixture
def settings(tmp_path: Path, engine: Engine, database_url: str) -> Settings:
    return make_test_settings(tmp_path, database_url=database_url)


@pytest.fixture
def app(settings: Settings, engine: Engine) -> Iterator[Flask]:
    from lti_tool.app import create_app

    application = create_app(settings)
    application.config.update(TESTING=True)
    db.configure(settings.database_url, engine=engine)
    yield application
    truncate_all(engine)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()
