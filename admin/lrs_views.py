"""Admin console (web layer): xAPI pages, LRS connections, quarantine, outbox, rules."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from admin import service as console_service
from admin.auth import (
    admin_required,
    console_actor,
    console_scope,
    require_tenant_in_scope,
)
from admin.forms import ActionForm
from admin.lrs_forms import LrsConnectionForm, RulesForm
from lti_tool.infra.tenancy import console_may_see
from lti_tool.web.transaction import request_session
from xapi import connections as lrs_connections
from xapi import outbox as lrs_outbox
from xapi import reports as lrs_reports
from xapi import rule_store
from xapi.core.rule_parsing import RuleError
from xapi.models import LrsConnection

bp = Blueprint("admin_lrs", __name__, url_prefix="/admin", template_folder="templates")


def _tenant_choices() -> list[tuple[int, str]]:
    return console_service.list_tenant_choices(
        request_session(), tenant_id=console_scope()
    )


def _connection(connection_id: int) -> LrsConnection:
    connection = request_session().get(LrsConnection, connection_id)
    if connection is None or not console_may_see(console_scope(), connection.tenant_id):
        abort(404)
    return connection


@bp.route("/lrs", methods=["GET", "POST"])
@admin_required("admin")
def connections() -> Any:
    form = LrsConnectionForm()
    form.tenant_id.choices = _tenant_choices()
    if form.validate_on_submit():
        try:
            connection = lrs_connections.add_connection(
                request_session(),
                tenant_id=form.tenant_id.data,
                name=form.name.data or "",
                endpoint=form.endpoint.data.strip(),
                username=form.username.data,
                password=form.password.data,
                actor=console_actor(),
                actor_mode=form.actor_mode.data,
                match_on=form.match_on.data,
                home_page_includes_deployment=form.home_page_includes_deployment.data,
                home_page_override=form.home_page_override.data or None,
                sync_enabled=form.sync_enabled.data,
                send_statements=form.send_statements.data,
                page_size=form.page_size.data,
                xapi_version=form.xapi_version.data or None,
            )
        except ValueError as exc:
            flash(str(exc), "error")
        else:
            flash(f"Added LRS connection {connection.name}. Test it below.", "ok")
            return redirect(url_for("admin_lrs.connections"))
    rows = lrs_reports.sync_overview(request_session(), tenant_id=console_scope())
    return render_template(
        "admin/lrs/connections.html", form=form, rows=rows, action=ActionForm()
    )


@bp.post("/lrs/<int:connection_id>/test")
@admin_required("admin")
def connection_test(connection_id: int) -> Any:
    if not ActionForm().validate_on_submit():
        abort(400)
    connection = _connection(connection_id)
    result = lrs_connections.test_connection(
        request_session(), connection_id=connection.id, actor=console_actor()
    )
    flash(
        f"{connection.name}: {result.message}",
        "ok" if result.ok else "error",
    )
    return redirect(url_for("admin_lrs.connections"))


@bp.post("/lrs/<int:connection_id>/remove")
@admin_required("admin")
def connection_remove(connection_id: int) -> Any:
    if not ActionForm().validate_on_submit():
        abort(400)
    connection = _connection(connection_id)
    name = connection.name
    lrs_connections.remove_connection(
        request_session(), connection_id=connection.id, actor=console_actor()
    )
    flash(f"Removed LRS connection {name}.", "ok")
    return redirect(url_for("admin_lrs.connections"))


@bp.get("/lrs/quarantine")
@admin_required("admin")
def quarantine() -> Any:
    rows = lrs_reports.quarantine_list(request_session(), tenant_id=console_scope())
    overview = lrs_reports.sync_overview(request_session(), tenant_id=console_scope())
    return render_template("admin/lrs/quarantine.html", rows=rows, overview=overview)


@bp.get("/lrs/unmatched")
@admin_required("admin")
def unmatched() -> Any:
    chosen = request.args.get("connection", type=int)
    if chosen is not None:
        _connection(chosen)  # another tenant's connection: 404, as if absent
    rows = lrs_reports.unmatched_actors(
        request_session(), tenant_id=console_scope(), connection_id=chosen
    )
    return render_template("admin/lrs/unmatched.html", rows=rows)


@bp.get("/lrs/outbox")
@admin_required("admin")
def outbox() -> Any:
    scope = console_scope()
    return render_template(
        "admin/lrs/outbox.html",
        counts=lrs_outbox.outbox_counts(request_session(), tenant_id=scope),
        problems=lrs_outbox.outbox_problems(request_session(), tenant_id=scope),
        action=ActionForm(),
    )


@bp.post("/lrs/outbox/retry")
@admin_required("admin")
def outbox_retry() -> Any:
    if not ActionForm().validate_on_submit():
        abort(400)
    count = lrs_outbox.retry_parked(
        request_session(), actor=console_actor(), tenant_id=console_scope()
    )
    flash(f"{count} statements queued for delivery again.", "ok")
    return redirect(url_for("admin_lrs.outbox"))


@bp.route("/lrs/rules", methods=["GET", "POST"])
@admin_required("admin")
def evidence_rules() -> Any:
    form = RulesForm()
    form.tenant_id.choices = _tenant_choices()
    if request.method == "GET":
        chosen = request.args.get("tenant", type=int)
        if "tenant" in request.args:
            # Another tenant's rules are not this user's to read: 404, as if absent.
            require_tenant_in_scope(chosen)
        elif form.tenant_id.choices:
            chosen = form.tenant_id.choices[0][0]
        if chosen is not None:
            form.tenant_id.data = chosen
            rules = rule_store.load_rules(request_session(), tenant_id=chosen)
            form.document.data = json.dumps(rules.to_json(), indent=2)
    elif form.validate_on_submit():
        try:
            rules = rule_store.import_rules(
                request_session(),
                tenant_id=form.tenant_id.data,
                document=form.document.data,
                actor=console_actor(),
            )
        except RuleError as exc:
            flash(f"Rules not saved: {exc}", "error")
        else:
            flash(f"Saved {len(rules.rules)} evidence rules.", "ok")
            return redirect(
                url_for("admin_lrs.evidence_rules", tenant=form.tenant_id.data)
            )
    shown = form.tenant_id.data
    # A refused POST keeps the posted tenant: warn only about one this user may see.
    missing = (
        rule_store.rules_without_skills(request_session(), tenant_id=shown)
        if isinstance(shown, int) and console_may_see(console_scope(), shown)
        else []
    )
    return render_template("admin/lrs/rules.html", form=form, missing=missing)
