"""Entry point commands for grades to the LMS: `pathwise grades status|send`."""

from __future__ import annotations

import click

from lti_tool.cli.bootstrap import start_runtime, tenant_option
from lti_tool.infra.db import session_scope
from lti_tool.lti.grade_jobs import send_pending_grades
from lti_tool.lti.grade_outbox import grade_counts, grade_problems


@click.group("grades")
def grades_group() -> None:
    """Learners' scores on their way to, or accepted by, the LMS gradebooks (AGS)."""


@grades_group.command("status")
@tenant_option()
def grades_status(tenant_id: int | None) -> None:
    """Counts per state, and the grades that are failing or being retried."""
    start_runtime()
    with session_scope() as session:
        counts = grade_counts(session, tenant_id=tenant_id)
        click.echo("  ".join(f"{k}: {v}" for k, v in counts.items()))
        for row in grade_problems(session, tenant_id=tenant_id, limit=20):
            click.echo(
                f"person {row.person_id}\tlink {row.resource_link_pk}\t{row.status}\t"
                f"attempts {row.attempts}\t{row.last_error[:120]}"
            )


@grades_group.command("send")
def grades_send() -> None:
    """Send due grades now (embedded installs have no scheduler to retry them)."""
    start_runtime()
    report = send_pending_grades()
    click.echo("  ".join(f"{k}: {v}" for k, v in report.items()))
