"""Alembic migrations build exactly the schema the models describe (SQLite and Postgres)."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from lti_tool.infra.db import make_engine
from lti_tool.infra.migrations import alembic_config
from lti_tool.schema import full_metadata


def _check(url: str) -> None:
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}),
                full_metadata(),
            )
        assert diff == [], f"models changed without a migration: {diff}"
        command.downgrade(alembic_config(url), "base")
        with engine.connect() as conn:
            tables = set(
                conn.execute(
                    text(
                        "select name from sqlite_master where type='table'"
                        if url.startswith("sqlite")
                        else "select tablename from pg_tables where schemaname='public'"
                    )
                ).scalars()
            )
        assert tables <= {"alembic_version"}
    finally:
        engine.dispose()


def test_sqlite_migrations_match_models(tmp_path: Path) -> None:
    _check(f"sqlite:///{tmp_path / 'migrated.sqlite'}")


@pytest.mark.postgres
def test_postgres_migrations_match_models(postgres_url: str) -> None:
    import psycopg

    admin = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    name = "pathwise_migration_check"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        _check(postgres_url.rsplit("/", 1)[0] + "/" + name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
