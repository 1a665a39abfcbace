"""Console routes for xAPI: LRS connections, quarantine, outbox, evidence rules."""

from __future__ import annotations

import json
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from admin.lrs_forms import ActionForm, LrsConnectionForm, RulesForm
from admin.views import admin_required, bp
from lti_tool.infra.models import Deployment, Registration
from lti_tool.web.transaction import request_session
from xapi import connections, outbox, reports, rule_store
from xapi.core.rule_parsing import RuleError
from xapi.models import LrsConnection


def _actor() -> str:
    return f"console:{g.admin_user['username']}"


def _tenant_scope() -> int | None:
    """An admin bound to one tenant sees only that tenant; install admins see all."""
    tenant: int | None = g.admin_user.get("tenant_id")
    return tenant


def _tenant_choices() -> list[tuple[int, str]]:
    query = (
        select(
            Deployment.id,
            Deployment.deployment_id,
            Deployment.name,
            Registration.issuer,
        )
        .join(Registration, Registration.id == Deployment.registration_id)
        .order_by(Deployment.id)
    )
    scope = _tenant_scope()
    if scope is not None:
        query = query.where(Deployment.id == scope)
    return [
        (tid, f"{name or issuer} - deployment {dep}")
        for tid, dep, name, issuer in request_session().execute(query)
    ]


def _connection(connection_id: int) -> LrsConnection:
    connection = request_session().get(LrsConnection, connection_id)
    scope = _tenant_scope()
    if connection is None or (scope is not None and connection.tenant_id != scope):
        abort(404)
    return connection


@bp.route("/lrs", methods=["GET", "POST"])
@admin_required("admin")
def lrs_connections() -> Any:
    form = LrsConnectionForm()
    form.tenant_id.choices = _tenant_choices()
    if form.validate_on_submit():
        try:
            connection = connections.add_connection(
                request_session(),
                tenant_id=form.tenant_id.data,
                name=form.name.data or "",
                endpoint=form.endpoint.data.strip(),
                username=form.username.data,
                password=form.password.data,
                actor=_actor(),
                actor_mode=form.actor_mode.data,
                home_page_includes_deployment=form.home_page_includes_deployment.data,
                home_page_override=form.home_page_override.data or None,
                sync_enabled=form.sync_enabled.data,
                send_statements=form.send_statements.data,
                page_size=form.page_size.data,
            )
        except ValueError as exc:
            flash(str(exc), "error")
        else:
            flash(f"Added LRS connection {connection.name}. Test it below.", "ok")
            return redirect(url_for("admin.lrs_connections"))
    rows = reports.sync_overview(request_session(), tenant_id=_tenant_scope())
    return render_template(
        "admin/lrs/connections.html", form=form, rows=rows, action=ActionForm()
    )


@bp.post("/lrs/<int:connection_id>/test")
@admin_required("admin")
def lrs_test(connection_id: int) -> Any:
    if not ActionForm().validate_on_submit():
        abort(400)
    connection = _connection(connection_id)
    result = connections.test_connection(
        request_session(), connection_id=connection.id, actor=_actor()
    )
    flash(
        f"{connection.name}: {result.message}",
        "ok" if result.ok else "error",
    )
    return redirect(url_for("admin.lrs_connections"))


@bp.post("/lrs/<int:connection_id>/remove")
@admin_required("admin")
def lrs_remove(connection_id: int) -> Any:
    if not ActionForm().validate_on_submit():
        abort(400)
    connection = _connection(connection_id)
    name = connection.name
    connections.remove_connection(
        request_session(), connection_id=connection.id, actor=_actor()
    )
    flash(f"Removed LRS connection {name}.", "ok")
    return redirect(url_for("admin.lrs_connections"))


@bp.get("/lrs/quarantine")
@admin_required("admin")
def lrs_quarantine() -> Any:
    rows = reports.quarantine_list(request_session(), tenant_id=_tenant_scope())
    overview = reports.sync_overview(request_session(), tenant_id=_tenant_scope())
    return render_template("admin/lrs/quarantine.html", rows=rows, overview=overview)


@bp.get("/lrs/outbox")
@admin_required("admin")
def lrs_outbox() -> Any:
    scope = _tenant_scope()
    return render_template(
        "admin/lrs/outbox.html",
        counts=outbox.outbox_counts(request_session(), tenant_id=scope),
        problems=outbox.outbox_problems(request_session(), tenant_id=scope),
        action=ActionForm(),
    )


@bp.post("/lrs/outbox/retry")
@admin_required("admin")
def lrs_outbox_retry() -> Any:
    if not ActionForm().validate_on_submit():
        abort(400)
    count = outbox.retry_parked(
        request_session(), actor=_actor(), tenant_id=_tenant_scope()
    )
    flash(f"{count} statements queued for delivery again.", "ok")
    return redirect(url_for("admin.lrs_outbox"))


@bp.route("/lrs/rules", methods=["GET", "POST"])
@admin_required("admin")
def lrs_rules() -> Any:
    form = RulesForm()
    form.tenant_id.choices = _tenant_choices()
    if request.method == "GET":
        chosen = request.args.get("tenant", type=int)
        if chosen is None and form.tenant_id.choices:
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
                actor=_actor(),
            )
        except RuleError as exc:
            flash(f"Rules not saved: {exc}", "error")
        else:
            flash(f"Saved {len(rules.rules)} evidence rules.", "ok")
            return redirect(url_for("admin.lrs_rules", tenant=form.tenant_id.data))
    return render_template("admin/lrs/rules.html", form=form)
