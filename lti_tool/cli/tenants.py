"""Entry point commands for tenants: `pathwise tenants list` (the ids --tenant takes)."""

from __future__ import annotations

import click

from lti_tool.cli.bootstrap import start_runtime
from lti_tool.infra.db import session_scope
from lti_tool.infra.tenant_directory import list_tenants


@click.group("tenants")
def tenants_group() -> None:
    """Tenants: one per LMS deployment; every --tenant option names one of them."""


@tenants_group.command("list")
def tenants_list() -> None:
    """Tenant ids with their LMS issuer, deployment id and name."""
    start_runtime()
    with session_scope() as session:
        rows = list_tenants(session)
    if not rows:
        click.echo("No tenants yet: register a platform (pathwise platform --help).")
        return
    click.echo("id\tissuer\tdeployment\tname\tLMS\tstate")
    for row in rows:
        click.echo(
            f"{row.id}\t{row.issuer}\t{row.deployment_id}\t{row.name or '-'}\t"
            f"{row.lms or '-'}\t{'active' if row.active else 'inactive'}"
        )
