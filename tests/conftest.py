"""Shared fixtures: settings, databases (SQLite or Postgres), Redis, the Flask app."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from redis import Redis
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from lti_tool.infra.config import Settings
from lti_tool.infra.db import Base, db, import_all_models, make_engine
from lti_tool.infra.outbound import configure_outbound
from lti_tool.runtime import wire_follow_up_jobs

IN_CI = os.environ.get("CI", "").lower() == "true"
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
# A dedicated Redis DB index, flushed by the tests (rq's own tests do the same).
DEFAULT_TEST_REDIS_URL = "redis://127.0.0.1:6379/13"
DEFAULT_TEST_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def require_service(name: str, reason: str) -> None:
    """Skip locally, fail in CI: service-backed tests must never silently vanish there."""
    if IN_CI:
        pytest.fail(f"{name} is required in CI: {reason}")
    pytest.skip(f"{name} not available: {reason}")


def make_test_settings(tmp_path: Path, **overrides: object) -> Settings:
    base = Settings(
        environment="test",
        database_url=f"sqlite:///{tmp_path / 'pathwise.sqlite'}",
        redis_url=None,
        secret_key="test-secret-key-" + "x" * 32,
        encryption_keys=(Fernet.generate_key().decode(),),
        base_url="http://127.0.0.1:5000",
        data_dir=tmp_path,
        dev_platform_enabled=False,
    )
    return base.with_overrides(**overrides)


@pytest.fixture(autouse=True)
def _outbound_to_loopback() -> Iterator[None]:
    """Outbound fetches may reach the tests' local LMSs and LRSs, as in development
    (the process-wide policy fails closed, and a production test must not leak)."""
    configure_outbound(guard_internal=False, allow_hosts=())
    yield
    configure_outbound(guard_internal=False, allow_hosts=())


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if TEST_DATABASE_URL:
        return TEST_DATABASE_URL
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'pathwise.sqlite'}"


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    import_all_models()
    eng = make_engine(database_url)
    Base.metadata.drop_all(eng)
    Base.metadata.create_all(eng)
    db.configure(database_url, engine=eng)
    # Services kick follow-up jobs after commit; tests without an app wire them here.
    wire_follow_up_jobs()
    yield eng
    eng.dispose()


def truncate_all(eng: Engine) -> None:
    with eng.begin() as conn:
        if eng.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())


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
