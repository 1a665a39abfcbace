"""Entry point commands for the people directory: `pathwise people ...`."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy import func, select

from lti_tool.cli.bootstrap import cli_actor, start_runtime, tenant_option
from lti_tool.infra.db import session_scope
from lti_tool.infra.directory_csv import COLUMNS
from lti_tool.infra.models import Course, Person, ResourceLink
from lti_tool.lti.roster_jobs import sync_course_roster
from lti_tool.usecases.people import import_people


@click.group("people")
def people_group() -> None:
    """The people directory: import people before they launch, sync LMS rosters."""


@people_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@tenant_option(required=True)
@click.option(
    "--dry-run", is_flag=True, help="Check the file and report; write nothing."
)
def people_import(file: Path, tenant_id: int, dry_run: bool) -> None:
    """Upsert people from a CSV file: all rows or none.

    Columns: external_id, name, email, lms_sub, department, manager, job_role,
    accounts (see docs/people.md). Several emails or accounts go in one cell,
    separated by ';'.
    """
    start_runtime()
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise click.ClickException(f"{file} is not UTF-8 text") from None
    with session_scope() as session:
        report = import_people(
            session,
            tenant_id=tenant_id,
            text=text,
            dry_run=dry_run,
            actor=cli_actor(),
        )
    for error in report.errors:
        click.echo(error, err=True)
    if report.errors:
        raise click.ClickException(
            f"{len(report.errors)} error(s); nothing was imported "
            f"(columns: {', '.join(COLUMNS)})"
        )
    click.echo(report.summary() + (" (dry run: nothing written)" if dry_run else ""))


@people_group.command("sync-roster")
@tenant_option(required=True)
@click.option(
    "--course",
    "context_id",
    default=None,
    help="LTI context id; default: every course with a Names and Roles endpoint.",
)
def people_sync_roster(tenant_id: int, context_id: str | None) -> None:
    """Read course rosters (LTI Names and Roles) into the directory now."""
    start_runtime()
    with session_scope() as session:
        query = (
            select(ResourceLink.id, Course.context_id)
            .join(Course, Course.id == ResourceLink.course_id)
            .where(
                ResourceLink.tenant_id == tenant_id,
                ResourceLink.nrps_endpoint.is_not(None),
            )
            .order_by(ResourceLink.id)
        )
        if context_id is not None:
            query = query.where(Course.context_id == context_id)
        # One link per course is enough: the roster is the course's.
        links: dict[str, int] = {}
        for link_id, course in session.execute(query):
            links.setdefault(str(course), int(link_id))
    if not links:
        raise click.ClickException(
            "no course of this tenant has a Names and Roles endpoint yet: an "
            "instructor's launch from the LMS stores it"
        )
    failed = 0
    for course, link_id in links.items():
        result = sync_course_roster(link_id, force=True, actor=cli_actor())
        failed += int(result.get("failed", 0))
        click.echo(f"{course}\t" + " ".join(f"{k}={v}" for k, v in result.items()))
    if failed:
        raise click.ClickException(f"{failed} roster(s) could not be read")


@people_group.command("list")
@tenant_option(required=True)
def people_list(tenant_id: int) -> None:
    """List the tenant's directory: id, external id, name, email, source, launched."""
    start_runtime()
    with session_scope() as session:
        total = session.scalar(
            select(func.count())
            .select_from(Person)
            .where(Person.tenant_id == tenant_id)
        )
        for person in session.scalars(
            select(Person).where(Person.tenant_id == tenant_id).order_by(Person.id)
        ):
            click.echo(
                f"{person.id}\t{person.external_id or '-'}\t{person.display_name}\t"
                f"{person.email or '-'}\t{person.source}\t"
                f"{'launched' if person.last_seen_at else 'not launched'}"
            )
        click.echo(f"{total} people")
