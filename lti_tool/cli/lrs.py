"""Entry point commands for xAPI: `pathwise lrs ...`, `pathwise sync`, `pathwise outbox`."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import click

from lti_tool.cli.bootstrap import (
    read_secret,
    secret_stdin_option,
    start_runtime,
    tenant_option,
)
from lti_tool.infra.db import session_scope
from xapi import connections, outbox, reports, rule_store, sync
from xapi.core.rule_parsing import RuleError
from xapi.jobs import send_pending_statements
from xapi.models import DEFAULT_PAGE_SIZE


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


@click.group("lrs")
def lrs_group() -> None:
    """LRS connections: where evidence is read from and our statements go."""


@lrs_group.command("add")
@tenant_option(required=True)
@click.option("--name", default="", help="A label for the console.")
@click.option("--endpoint", required=True, help="xAPI endpoint, e.g. https://lrs/xAPI/")
@click.option("--username", required=True, help="Basic auth key.")
@secret_stdin_option("Basic auth secret")
@click.option(
    "--actor-mode",
    type=click.Choice(["account", "mbox"]),
    default="account",
    show_default=True,
    help="Name people in the statements we send by LTI account (issuer + sub) "
    "or by email (mbox).",
)
@click.option(
    "--match-on",
    type=click.Choice(["all", "account", "email"]),
    default="all",
    show_default=True,
    help="Match incoming statements to the directory on every identity (accounts, "
    "mbox, mbox_sha1sum), only on accounts, or only on emails.",
)
@click.option(
    "--home-page-includes-deployment",
    is_flag=True,
    help="account.homePage = issuer/deployments/<id> (one issuer, several tenants).",
)
@click.option("--home-page", default=None, help="Explicit account.homePage.")
@click.option("--no-sync", is_flag=True, help="Do not read evidence from this LRS.")
@click.option("--no-send", is_flag=True, help="Do not send our statements here.")
@click.option(
    "--page-size",
    type=int,
    default=DEFAULT_PAGE_SIZE,
    show_default=True,
    help="Statements per page (see docs/operations.md, 'Page size').",
)
@click.option(
    "--xapi-version",
    type=click.Choice(["1.0.3", "2.0.0"]),
    default=None,
    help="Speak this xAPI version (default: read the LRS's /about; 1.0.3 without).",
)
def lrs_add(
    tenant_id: int,
    name: str,
    endpoint: str,
    username: str,
    password_stdin: bool,
    actor_mode: str,
    match_on: str,
    home_page_includes_deployment: bool,
    home_page: str | None,
    no_sync: bool,
    no_send: bool,
    page_size: int,
    xapi_version: str | None,
) -> None:
    """Add an LRS connection (the secret is stored encrypted)."""
    password = read_secret(password_stdin, "Basic auth secret", confirm=False)
    start_runtime()
    try:
        with session_scope() as session:
            connection = connections.add_connection(
                session,
                tenant_id=tenant_id,
                name=name,
                endpoint=endpoint,
                username=username,
                password=password,
                actor=_actor(),
                actor_mode=actor_mode,
                match_on=match_on,
                home_page_includes_deployment=home_page_includes_deployment,
                home_page_override=home_page,
                sync_enabled=not no_sync,
                send_statements=not no_send,
                page_size=page_size,
                xapi_version=xapi_version,
            )
            connection_id = connection.id
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"Added LRS connection {connection_id}. Check it: pathwise lrs test {connection_id}"
    )


@lrs_group.command("list")
def lrs_list() -> None:
    """List LRS connections with their sync position."""
    start_runtime()
    with session_scope() as session:
        rows = reports.sync_overview(session)
        if not rows:
            click.echo("No LRS connections. Add one: pathwise lrs add --help")
            return
        for row in rows:
            connection = row["connection"]
            cursor = row["cursor"]
            position = (
                cursor.last_stored.isoformat() if cursor and cursor.last_stored else "-"
            )
            tested = (
                "never tested"
                if connection.last_test_ok is None
                else ("ok" if connection.last_test_ok else "FAILED")
            )
            click.echo(
                f"{connection.id}\ttenant {connection.tenant_id}\t{connection.name}\t"
                f"{connection.endpoint}\tactor={connection.actor_mode}\t"
                f"match={connection.match_on}\t{tested}\t"
                f"synced to {position}\tunmatched actors {row['unmatched_actors']}"
            )


@lrs_group.command("test")
@click.argument("connection_id", type=int)
def lrs_test(connection_id: int) -> None:
    """Test a connection: /about (version) and an authenticated query."""
    start_runtime()
    try:
        with session_scope() as session:
            result = connections.test_connection(
                session, connection_id=connection_id, actor=_actor()
            )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(("OK: " if result.ok else "FAILED: ") + result.message)
    if not result.ok:
        raise SystemExit(1)


@lrs_group.command("set-version")
@click.argument("connection_id", type=int)
@click.argument("version", type=click.Choice(["1.0.3", "2.0.0", "detect"]))
def lrs_set_version(connection_id: int, version: str) -> None:
    """Pin the xAPI version of a connection, or go back to detecting it."""
    start_runtime()
    try:
        with session_scope() as session:
            connections.set_version(
                session,
                connection_id=connection_id,
                version=None if version == "detect" else version,
                actor=_actor(),
            )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"LRS connection {connection_id}: xAPI version {version}.")


@lrs_group.command("remove")
@click.argument("connection_id", type=int)
@click.confirmation_option(prompt="Remove this LRS connection and its sync state?")
def lrs_remove(connection_id: int) -> None:
    """Remove a connection (queued statements stay in the outbox)."""
    start_runtime()
    try:
        with session_scope() as session:
            connections.remove_connection(
                session, connection_id=connection_id, actor=_actor()
            )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Removed LRS connection {connection_id}.")


@lrs_group.command("import-rules")
@tenant_option(required=True)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def lrs_import_rules(tenant_id: int, path: Path) -> None:
    """Make a JSON rule set (see docs/xapi.md) the tenant's evidence rules."""
    start_runtime()
    try:
        with session_scope() as session:
            rules = rule_store.import_rules(
                session,
                tenant_id=tenant_id,
                document=path.read_text(encoding="utf-8"),
                actor=_actor(),
            )
    except RuleError as exc:
        raise click.ClickException(f"rules not imported: {exc}") from None
    click.echo(f"Imported {len(rules.rules)} rules for tenant {tenant_id}.")


@lrs_group.command("export-rules")
@tenant_option(required=True)
def lrs_export_rules(tenant_id: int) -> None:
    """Print the tenant's evidence rules (the defaults when it has none) as JSON."""
    start_runtime()
    with session_scope() as session:
        rules = rule_store.load_rules(session, tenant_id=tenant_id)
    click.echo(json.dumps(rules.to_json(), indent=2))


@click.command("sync")
@click.option("--connection", "connection_id", type=int, default=None)
def sync_command(connection_id: int | None) -> None:
    """Sync evidence from the LRS now (one connection, or all active ones)."""
    start_runtime()
    with session_scope() as session:
        ids = [
            c.id
            for c in connections.list_connections(session)
            if c.active and c.sync_enabled and connection_id in (None, c.id)
        ]
    if not ids:
        raise click.ClickException("no matching active LRS connection")
    failed = False
    for cid in ids:
        click.echo(f"LRS {cid}: syncing...")

        def show(report: sync.SyncReport, cid: int = cid) -> None:
            c = report.counters
            click.echo(
                f"  LRS {cid}: {c['pages']} pages, {c['fetched']} read, "
                f"{c['evidence']} evidence, {c['malformed']} quarantined",
                err=True,
            )

        with session_scope() as session:
            report = sync.sync_connection(
                session, connection_id=cid, checkpoint=session.commit, progress=show
            )
        summary = ", ".join(f"{k}={v}" for k, v in sorted(report.counters.items()))
        status = "done" if report.complete else f"INCOMPLETE ({report.error})"
        click.echo(f"LRS {cid}: {status}: {summary}")
        failed = failed or not report.complete
    if failed:
        raise SystemExit(1)


@click.group("outbox")
def outbox_group() -> None:
    """Statements Pathwise emits, waiting for or delivered to the LRS."""


@outbox_group.command("status")
@tenant_option()
def outbox_status(tenant_id: int | None) -> None:
    """Counts per state, and the statements that need attention."""
    start_runtime()
    with session_scope() as session:
        counts = outbox.outbox_counts(session, tenant_id=tenant_id)
        click.echo("  ".join(f"{k}: {v}" for k, v in counts.items()))
        for row in outbox.outbox_problems(session, tenant_id=tenant_id, limit=20):
            click.echo(
                f"{row.statement_id}\t{row.status}\t{row.verb}\tattempts {row.attempts}\t"
                f"{row.last_error[:120]}"
            )


@outbox_group.command("send")
def outbox_send() -> None:
    """Deliver due statements now."""
    start_runtime()
    report = send_pending_statements()
    click.echo("  ".join(f"{k}: {v}" for k, v in report.items()))


@outbox_group.command("retry-parked")
@tenant_option()
def outbox_retry_parked(tenant_id: int | None) -> None:
    """Send parked and conflicting statements again (after fixing the cause)."""
    start_runtime()
    with session_scope() as session:
        count = outbox.retry_parked(session, actor=_actor(), tenant_id=tenant_id)
    click.echo(f"{count} statements queued again.")
