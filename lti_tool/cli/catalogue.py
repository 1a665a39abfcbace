"""Entry point commands: `pathwise catalogue import|export|tag-csv` for content authors."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from sqlalchemy.orm import Session

from adaptive.activity_tagging import tag_activities
from adaptive.catalogue_export import export_catalogue_for
from adaptive.catalogue_import import import_catalogue
from adaptive.core.catalogue_format import CatalogueError
from adaptive.core.catalogue_parse import parse_catalogue
from adaptive.core.catalogue_tagging import parse_tagging_csv
from adaptive.visibility import find_framework
from lti_tool.cli.bootstrap import start_runtime, tenant_option
from lti_tool.infra.db import db, session_scope
from lti_tool.infra.models import Deployment
from xapi import rule_store


@contextmanager
def _unit_of_work(*, dry_run: bool) -> Iterator[Session]:
    """Commit on success, or always roll back for a dry run."""
    if not dry_run:
        with session_scope() as session:
            yield session
        return
    session = db.session()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{path}: not UTF-8 text ({exc.reason})") from None


def _fail(exc: CatalogueError) -> None:
    count = len(exc.issues)
    click.echo(exc.render(), err=True)
    click.echo(
        f"{count} problem{'s' if count != 1 else ''} found; nothing was changed.",
        err=True,
    )
    raise SystemExit(1)


def _check_tenant(session: Session, tenant_id: int | None) -> None:
    if tenant_id is not None and session.get(Deployment, tenant_id) is None:
        raise click.ClickException(f"no tenant (deployment) with id {tenant_id}")


@click.group("catalogue")
def catalogue_group() -> None:
    """Import, export and tag skills catalogues (see docs/author-guide.md)."""


@catalogue_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@tenant_option(help="Default: the shared catalogue.")
@click.option(
    "--dry-run", is_flag=True, help="Validate and show what would change; save nothing."
)
def import_command(file: str, tenant_id: int | None, dry_run: bool) -> None:
    """Import a catalogue JSON file (all or nothing; re-importing is safe)."""
    try:
        doc = parse_catalogue(_read(file), source_name=file)
    except CatalogueError as exc:
        _fail(exc)
        return
    click.echo(
        f"{file}: valid. Framework {doc.framework.key!r}: {len(doc.skills)} skills, "
        f"{len(doc.roles)} roles, {len(doc.activities)} activities, {len(doc.modules)} modules."
    )
    start_runtime()
    with _unit_of_work(dry_run=dry_run) as session:
        _check_tenant(session, tenant_id)
        summary = import_catalogue(
            session, doc=doc, tenant_id=tenant_id, actor=_actor()
        )
        for name in ("framework", "skills", "roles", "activities", "modules"):
            counts = getattr(summary, name)
            click.echo(
                f"  {name:<11} {counts.created:>4} created {counts.updated:>4} updated "
                f"{counts.unchanged:>4} unchanged"
            )
        warning = rule_store.describe_missing_skills(
            rule_store.rules_without_skills(session, tenant_id=tenant_id)
        )
        if warning:
            click.echo(f"Warning: {warning}", err=True)
    verb = "Dry run: nothing saved" if dry_run else "Imported"
    click.echo(f"{verb} (framework id {summary.framework_id}).")


@catalogue_group.command("export")
@click.option("--framework", "framework_key", required=True, help="Framework key.")
@tenant_option(help="Default: the shared catalogue.")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None
)
def export_command(
    framework_key: str, tenant_id: int | None, output: str | None
) -> None:
    """Write a framework as catalogue JSON (to stdout, or -o FILE)."""
    start_runtime()
    with _unit_of_work(dry_run=True) as session:
        framework = find_framework(session, key=framework_key, tenant_id=tenant_id)
        if framework is None:
            raise click.ClickException(f"no framework {framework_key!r} in that tenant")
        text = export_catalogue_for(session, framework_id=framework.id)
    if output is None:
        click.echo(text, nl=False)
    else:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"Wrote {output}.", err=True)


@catalogue_group.command("tag-csv")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--framework", "framework_key", required=True, help="Framework key.")
@tenant_option(help="Default: the shared catalogue.")
@click.option("--dry-run", is_flag=True, help="Validate and count; save nothing.")
def tag_csv_command(
    file: str, framework_key: str, tenant_id: int | None, dry_run: bool
) -> None:
    """Add or update activity skill tags from activity_key,skill_key,weight,level rows."""
    try:
        rows = parse_tagging_csv(_read(file), source_name=file)
    except CatalogueError as exc:
        _fail(exc)
        return
    click.echo(f"{file}: {len(rows)} tagging rows.")
    start_runtime()
    with _unit_of_work(dry_run=dry_run) as session:
        framework = find_framework(session, key=framework_key, tenant_id=tenant_id)
        if framework is None:
            raise click.ClickException(f"no framework {framework_key!r} in that tenant")
        try:
            summary = tag_activities(
                session,
                framework_id=framework.id,
                rows=rows,
                source_name=file,
                actor=_actor(),
                tenant_id=tenant_id,
            )
        except CatalogueError as exc:
            _fail(exc)
            return
    verb = "Dry run: nothing saved" if dry_run else "Tagged"
    click.echo(
        f"{verb}: {summary.created} created, {summary.updated} updated, "
        f"{summary.unchanged} unchanged."
    )
