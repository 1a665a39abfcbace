"""Admin console (web layer): the people directory, its CSV import, unknown people."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, render_template, request

from admin import service as console_service
from admin.auth import admin_required, console_actor, console_scope
from admin.people_forms import PeopleImportForm
from lti_tool.infra.directory_csv import COLUMNS
from lti_tool.infra.directory_import import ImportReport
from lti_tool.usecases.people import import_people
from lti_tool.web.transaction import request_session
from xapi import reports as lrs_reports

bp = Blueprint(
    "admin_people", __name__, url_prefix="/admin", template_folder="templates"
)


def _form() -> PeopleImportForm:
    form = PeopleImportForm()
    form.tenant_id.choices = console_service.list_tenant_choices(
        request_session(), tenant_id=console_scope()
    )
    return form


def _page(form: PeopleImportForm, report: ImportReport | None = None) -> Any:
    session = request_session()
    scope = console_scope()
    return render_template(
        "admin/people.html",
        form=form,
        report=report,
        columns=COLUMNS,
        people=console_service.list_people(session, tenant_id=scope),
        unknown=lrs_reports.unmatched_actors(session, tenant_id=scope, limit=10),
    )


@bp.get("/people")
@admin_required("admin")
def directory() -> Any:
    return _page(_form())


@bp.post("/people")
@admin_required("admin")
def directory_import() -> Any:
    form = _form()
    if not form.validate_on_submit():
        return _page(form), 400
    try:
        text = request.files["file"].read().decode("utf-8-sig")
    except UnicodeDecodeError:
        flash("The file is not UTF-8 text: nothing was imported.", "error")
        return _page(form), 400
    report = import_people(
        request_session(),
        tenant_id=form.tenant_id.data,
        text=text,
        dry_run=form.dry_run.data,
        actor=console_actor(),
    )
    if not report.ok:
        flash(f"{len(report.errors)} error(s): nothing was imported.", "error")
        return _page(form, report), 400
    flash(
        report.summary() + (" (dry run: nothing written)." if report.dry_run else "."),
        "ok",
    )
    return _page(form, report)
