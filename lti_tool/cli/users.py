"""Entry point commands: `pathwise admin create-user` (console accounts)."""

from __future__ import annotations

import click

from admin.users import AdminUserError, create_admin_user
from lti_tool.cli.bootstrap import start_runtime
from lti_tool.infra.db import session_scope


@click.group("admin")
def admin_group() -> None:
    """Console accounts."""


@admin_group.command("create-user")
@click.argument("username")
@click.option(
    "--role", type=click.Choice(["admin", "author"]), default="admin", show_default=True
)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def admin_create_user(username: str, role: str, password: str) -> None:
    start_runtime()
    try:
        with session_scope() as session:
            create_admin_user(session, username=username, password=password, role=role)
    except AdminUserError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Created {role} {username}.")
