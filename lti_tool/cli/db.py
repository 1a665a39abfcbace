"""Entry point commands: `pathwise db upgrade|current` (the Alembic schema)."""

from __future__ import annotations

import logging
from pathlib import Path

import click
from alembic import command

from lti_tool.cli.bootstrap import load_settings, start_runtime
from lti_tool.infra.config import Settings
from lti_tool.infra.db import db, session_scope
from lti_tool.infra.migrations import alembic_config
from lti_tool.lti.keys import active_keys, create_signing_key


def upgrade_database(settings: Settings) -> None:
    """Bring the schema to the newest Alembic revision (SQLite or Postgres)."""
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if settings.uses_sqlite:
        Path(settings.database_url.removeprefix("sqlite:///")).parent.mkdir(
            parents=True, exist_ok=True
        )
    command.upgrade(alembic_config(settings.database_url), "head")
    # The first signing key is made here, once, rather than by racing first launches.
    db.configure(settings.database_url)
    with session_scope() as session:
        if not active_keys(session):
            create_signing_key(session)


@click.group("db")
def db_group() -> None:
    """Database schema (Alembic migrations)."""


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations (and create the first signing key)."""
    settings = start_runtime()
    upgrade_database(settings)
    click.echo("Database is at the newest revision.")


@db_group.command("current")
def db_current() -> None:
    command.current(alembic_config(load_settings().database_url))
