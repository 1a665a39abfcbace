"""Entry point: the CLI's one bootstrap (lazy commands, settings, runtime, the Flask app).

Each command module is imported only when its command runs (or when ``--help`` lists
it), and the web stack only by the commands that serve pages, so `pathwise sync` or
`pathwise lrs` starts without loading Flask. This is the one place in the CLI with a
function-level import.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import click

from lti_tool.infra.config import Settings, SettingsError
from lti_tool.infra.db import session_scope
from lti_tool.infra.tenant_directory import (
    TenantNotFound,
    find_tenant,
    other_meanings,
)
from lti_tool.runtime import configure_runtime

FC = TypeVar("FC", bound=Callable[..., Any] | click.Command)

if TYPE_CHECKING:
    from flask import Flask


class LazyGroup(click.Group):
    """A command group whose subcommands are named ``"package.module:attribute"``.

    The module is imported the first time click asks for the command, so a command's
    start-up cost is its own module's imports, not every command's.
    """

    def __init__(
        self, *args: Any, lazy_commands: Mapping[str, str], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.lazy_commands:
            return super().get_command(ctx, cmd_name)
        module_name, attribute = self.lazy_commands[cmd_name].split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.lazy_commands[cmd_name]} is not a click command")
        return command


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


def cli_actor() -> str:
    """The audit actor of platform and key commands: the invoking login name."""
    return f"cli:{os.environ.get('USER', 'unknown')}"


def resolve_tenant(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> int | None:
    """``--tenant`` as the tenant id it names (see ``find_tenant``), or a clean error."""
    if value is None:
        return None
    start_runtime()
    try:
        with session_scope() as session:
            tenant_id = find_tenant(session, value)
            others = other_meanings(session, value, tenant_id)
    except TenantNotFound as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None
    for other in others:
        click.echo(
            f"Warning: --tenant {value} is tenant id {tenant_id}, but tenant "
            f"{other.id} (LMS deployment id {other.deployment_id!r}"
            + (f", name {other.name!r}" if other.name else "")
            + f") answers to {value} too; for that one say --tenant id:{other.id}.",
            err=True,
        )
    return tenant_id


TENANT_HELP = (
    "Tenant: its id, LMS deployment id or name (pathwise tenants list shows them)."
)


def tenant_option(
    *, required: bool = False, help: str | None = None
) -> Callable[[FC], FC]:
    """The one ``--tenant`` option: a tenant id, LMS deployment id or deployment name,
    passed on as the tenant id (``deployments.id``)."""
    return click.option(
        "--tenant",
        "tenant_id",
        type=str,
        required=required,
        default=None,
        callback=resolve_tenant,
        help=f"{help} {TENANT_HELP}" if help else TENANT_HELP,
        metavar="TENANT",
    )


def secret_stdin_option(what: str) -> Callable[[FC], FC]:
    """``--password-stdin``: read ``what`` from the first line of stdin, for scripts.

    A secret is never a command-line value: arguments reach shell history and ``ps``.
    Without the flag the secret is prompted for, hidden.
    """
    return click.option(
        "--password-stdin",
        "password_stdin",
        is_flag=True,
        help=f"Read the {what} from the first line of standard input "
        "(otherwise it is prompted for, hidden).",
    )


def read_secret(from_stdin: bool, prompt: str, *, confirm: bool) -> str:
    """The secret from stdin's first line (``--password-stdin``) or a hidden prompt."""
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise click.UsageError("--password-stdin: standard input was empty")
        return line
    secret: str = click.prompt(prompt, hide_input=True, confirmation_prompt=confirm)
    return secret
