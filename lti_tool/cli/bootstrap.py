"""Entry point: the CLI's one bootstrap (settings, runtime wiring, the Flask app on demand).

The web stack is imported only by the commands that serve pages, so a `pathwise sync`
or `pathwise lrs` call starts without loading Flask: this is the one place in the CLI
with a function-level import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from lti_tool.infra.config import Settings, SettingsError
from lti_tool.runtime import configure_runtime

if TYPE_CHECKING:
    from flask import Flask


def load_settings() -> Settings:
    """Settings from the environment; a bad value is a clean CLI error, not a trace."""
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def start_runtime(settings: Settings | None = None) -> Settings:
    """Load settings (unless given) and wire the database, queue and secrets."""
    settings = settings or load_settings()
    configure_runtime(settings)
    return settings


def build_app(settings: Settings) -> Flask:
    """The Flask app, imported lazily so commands without pages start fast."""
    from lti_tool.app import create_app

    return create_app(settings)
