"""Entry point commands: `pathwise admin ...` (console accounts, their role and scope).

Every change is audited and, where it changes who may do what (disable, role,
tenant, password, delete), ends the account's open console sessions at once.
"""

from __future__ import annotations

from collections.abc import Callable

import click
from sqlalchemy.orm import Session

from admin.users import (
    CONSOLE_ROLES,
    AdminUserError,
    create_admin_user,
    delete_admin_user,
    list_admin_users,
    set_disabled,
    set_password,
    set_role,
    set_tenant,
)
from lti_tool.cli.bootstrap import (
    cli_actor,
    read_secret,
    secret_stdin_option,
    start_runtime,
    tenant_option,
)
from lti_tool.infra.db import session_scope


@click.group("admin")
def admin_group() -> None:
    """Console accounts."""


def _run(change: Callable[[Session], object]) -> None:
    """Run one account change in its own transaction; a refusal is a clean CLI error."""
    start_runtime()
    try:
        with session_scope() as session:
            change(session)
    except AdminUserError as exc:
        raise click.ClickException(str(exc)) from None


def _new_password() -> str:
    # Prompted, never an argument: arguments end up in shell history and `ps`.
    password: str = click.prompt(
        "New password", hide_input=True, confirmation_prompt=True
    )
    return password


@admin_group.command("create-user")
@click.argument("username")
@click.option(
    "--role", type=click.Choice(CONSOLE_ROLES), default="admin", show_default=True
)
@tenant_option(help="Bind the account to one tenant; install-wide without it.")
@secret_stdin_option("password")
def admin_create_user(
    username: str, role: str, tenant_id: int | None, password_stdin: bool
) -> None:
    """Create a console account (asks for the password twice)."""
    password = read_secret(password_stdin, "Password", confirm=True)
    _run(
        lambda session: create_admin_user(
            session,
            username=username,
            password=password,
            role=role,
            tenant_id=tenant_id,
            actor=cli_actor(),
        )
    )
    scope = f"tenant {tenant_id}" if tenant_id is not None else "the install"
    click.echo(f"Created {role} {username} for {scope}.")


@admin_group.command("list-users")
def admin_list_users() -> None:
    """Console accounts: username, role, scope, state, last sign-in."""
    start_runtime()
    with session_scope() as session:
        for row in list_admin_users(session):
            state = "disabled" if row.disabled else "active"
            click.echo(
                f"{row.username}\t{row.role}\t{row.scope}\t{state}\t"
                f"last sign-in: {row.last_login}"
            )


@admin_group.command("disable-user")
@click.argument("username")
def admin_disable_user(username: str) -> None:
    """Refuse the account's sign-ins and end its open sessions."""
    _run(
        lambda session: set_disabled(
            session, username=username, disabled=True, actor=cli_actor()
        )
    )
    click.echo(f"Disabled {username}; their console sessions have ended.")


@admin_group.command("enable-user")
@click.argument("username")
def admin_enable_user(username: str) -> None:
    """Allow a disabled account to sign in again."""
    _run(
        lambda session: set_disabled(
            session, username=username, disabled=False, actor=cli_actor()
        )
    )
    click.echo(f"Enabled {username}.")


@admin_group.command("set-password")
@click.argument("username")
def admin_set_password(username: str) -> None:
    """Give the account a new password (prompted twice) and end its open sessions."""
    password = _new_password()
    _run(
        lambda session: set_password(
            session, username=username, password=password, actor=cli_actor()
        )
    )
    click.echo(f"New password set for {username}; their console sessions have ended.")


@admin_group.command("set-role")
@click.argument("username")
@click.argument("role", type=click.Choice(CONSOLE_ROLES))
def admin_set_role(username: str, role: str) -> None:
    """Make the account an admin or an author; ends its open sessions."""
    _run(
        lambda session: set_role(
            session, username=username, role=role, actor=cli_actor()
        )
    )
    click.echo(f"{username} is now {role}; their console sessions have ended.")


@admin_group.command("set-tenant")
@click.argument("username")
@tenant_option()
@click.option("--install", is_flag=True, help="Unbind: make the account install-wide.")
def admin_set_tenant(username: str, tenant_id: int | None, install: bool) -> None:
    """Bind the account to one tenant, or with --install to the whole install."""
    if install == (tenant_id is not None):
        raise click.UsageError("give exactly one of --tenant ID or --install")
    _run(
        lambda session: set_tenant(
            session, username=username, tenant_id=tenant_id, actor=cli_actor()
        )
    )
    scope = "the install" if tenant_id is None else f"tenant {tenant_id}"
    click.echo(f"{username} now acts for {scope}; their console sessions have ended.")


@admin_group.command("delete-user")
@click.argument("username")
@click.confirmation_option(prompt="Delete this console account?")
def admin_delete_user(username: str) -> None:
    """Delete the account; its open sessions end with it."""
    _run(
        lambda session: delete_admin_user(session, username=username, actor=cli_actor())
    )
    click.echo(f"Deleted {username}.")
