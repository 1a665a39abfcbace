"""Entry point commands: `pathwise catalogue import|check|export|tag-csv` for authors."""

from __future__ import annotations

import getpass
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn, TypeVar

import click
from sqlalchemy.orm import Session

from adaptive.activity_tagging import tag_activities
from adaptive.catalogue_export import export_catalogue_for, load_catalogue
from adaptive.catalogue_import import import_catalogue
from adaptive.catalogue_listing import list_frameworks
from adaptive.core.catalogue_format import FORMAT_VERSION, CatalogueDoc, CatalogueError
from adaptive.core.catalogue_health import CatalogueHealth, check_health
from adaptive.core.catalogue_parse import parse_catalogue
from adaptive.core.catalogue_tagging import parse_tagging_csv
from adaptive.core.question_tagging import is_question_csv, parse_question_csv
from adaptive.question_tags import tag_questions
from adaptive.visibility import find_framework
from lti_tool.cli.bootstrap import start_runtime, tenant_option
from lti_tool.infra.db import db, session_scope
from lti_tool.infra.models import Deployment
from xapi import rule_store

RowT = TypeVar("RowT")
SummaryT = TypeVar("SummaryT")


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


def _fail(exc: CatalogueError) -> NoReturn:
    count = len(exc.issues)
    click.echo(exc.render(), err=True)
    click.echo(
        f"{count} problem{'s' if count != 1 else ''} found; nothing was changed.",
        err=True,
    )
    raise SystemExit(1)


def _report_health(doc: CatalogueDoc, source: str) -> CatalogueHealth:
    """Print the catalogue check's warnings; errors are the caller's to refuse."""
    health = check_health(doc)
    for finding in health.warnings:
        click.echo(f"{source}:{finding.line}: warning: {finding.text()}", err=True)
    return health


def _refuse(doc: CatalogueDoc, health: CatalogueHealth) -> None:
    _fail(CatalogueError(doc.source_name, [f.issue() for f in health.errors]))


def _check_tenant(session: Session, tenant_id: int | None) -> None:
    if tenant_id is not None and session.get(Deployment, tenant_id) is None:
        raise click.ClickException(f"no tenant (deployment) with id {tenant_id}")


@click.group("catalogue")
def catalogue_group() -> None:
    """Import, export, list and tag skills catalogues (see docs/author-guide.md)."""


@catalogue_group.command("list")
@tenant_option(help="Default: the shared catalogue.")
def list_command(tenant_id: int | None) -> None:
    """Show the frameworks (key, name) and the module keys Deep Linking offers."""
    start_runtime()
    with _unit_of_work(dry_run=True) as session:
        _check_tenant(session, tenant_id)
        frameworks = list_frameworks(session, tenant_id=tenant_id)
    scope = "shared catalogue" if tenant_id is None else f"tenant {tenant_id}"
    if not frameworks:
        click.echo(
            f"No frameworks in the {scope}. Load one with "
            "`pathwise catalogue import FILE` (the demo catalogue is "
            "lti_tool/demo/ai_readiness.json)."
        )
        return
    click.echo(
        f"Frameworks in the {scope} (catalogue format version {FORMAT_VERSION}):"
    )
    for framework in frameworks:
        click.echo(
            f"  {framework.key}  {framework.name!r}: {framework.skills} skills, "
            f"{framework.activities} activities, {len(framework.modules)} modules"
        )
        for module in framework.modules:
            click.echo(f"    module {module.key}  {module.title!r}")


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
    health = _report_health(doc, file)
    if not health.ok:
        _refuse(doc, health)
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
    key = summary.framework_key
    if not dry_run:
        click.echo(
            f"Imported framework {key!r} (framework id {summary.framework_id}; "
            "see `pathwise catalogue list`)."
        )
    elif summary.framework.created:
        # The rolled-back insert's id would not be the real import's: name no id.
        click.echo(
            f"Dry run: nothing saved (framework {key!r} would be created; "
            "the real import prints its id)."
        )
    else:
        click.echo(
            f"Dry run: nothing saved (framework {key!r}, id {summary.framework_id}, "
            "would be updated)."
        )


@catalogue_group.command("check")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option("--framework", "framework_key", default=None, help="Stored framework.")
@tenant_option(help="Default: the shared catalogue.")
def check_command(
    file: str | None, framework_key: str | None, tenant_id: int | None
) -> None:
    """List every role target that cannot be reached (a FILE or a stored framework).

    Exits 1 when a target is unreachable (the import would refuse the file); warnings
    alone exit 0.
    """
    if (file is None) == (framework_key is None):
        raise click.UsageError("give a catalogue FILE or --framework KEY, not both")
    if file is not None:
        try:
            doc = parse_catalogue(_read(file), source_name=file)
        except CatalogueError as exc:
            _fail(exc)
    else:
        start_runtime()
        with _unit_of_work(dry_run=True) as session:
            framework = find_framework(
                session, key=framework_key or "", tenant_id=tenant_id
            )
            if framework is None:
                raise click.ClickException(
                    f"no framework {framework_key!r} in that tenant"
                )
            doc = load_catalogue(session, framework_id=framework.id)
    health = _report_health(doc, doc.source_name)
    if not health.ok:
        _refuse(doc, health)
        return
    click.echo(
        f"{doc.source_name}: every role target can be reached "
        f"({len(health.warnings)} warning{'s' if len(health.warnings) != 1 else ''})."
    )


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
    """Add or update activity skill tags from activity_key,skill_key,weight,level rows.

    A file whose header is activity_key,question,skill_key,level,difficulty tags
    single questions instead (see docs/author-guide.md).
    """
    text = _read(file)
    if is_question_csv(text):
        questions = _apply_tagging(
            parse_question_csv,
            tag_questions,
            "question",
            text,
            file,
            framework_key=framework_key,
            tenant_id=tenant_id,
            dry_run=dry_run,
        )
        verb = "Dry run: nothing saved" if dry_run else "Tagged questions"
        click.echo(
            f"{verb}: {questions.updated} updated, {questions.unchanged} unchanged."
        )
        return
    summary = _apply_tagging(
        parse_tagging_csv,
        tag_activities,
        "tagging",
        text,
        file,
        framework_key=framework_key,
        tenant_id=tenant_id,
        dry_run=dry_run,
    )
    verb = "Dry run: nothing saved" if dry_run else "Tagged"
    click.echo(
        f"{verb}: {summary.created} created, {summary.updated} updated, "
        f"{summary.unchanged} unchanged."
    )


def _apply_tagging(
    parse: Callable[..., Sequence[RowT]],
    apply: Callable[..., SummaryT],
    what: str,
    text: str,
    file: str,
    *,
    framework_key: str,
    tenant_id: int | None,
    dry_run: bool,
) -> SummaryT:
    """Parse a tagging CSV (activity or question rows) and apply it to a framework:
    one path for both, so a refusal reads and rolls back the same way."""
    try:
        rows = parse(text, source_name=file)
    except CatalogueError as exc:
        _fail(exc)
    click.echo(f"{file}: {len(rows)} {what} rows.")
    start_runtime()
    with _unit_of_work(dry_run=dry_run) as session:
        framework = find_framework(session, key=framework_key, tenant_id=tenant_id)
        if framework is None:
            raise click.ClickException(f"no framework {framework_key!r} in that tenant")
        try:
            return apply(
                session,
                framework_id=framework.id,
                rows=rows,
                source_name=file,
                actor=_actor(),
                tenant_id=tenant_id,
            )
        except CatalogueError as exc:
            _fail(exc)
