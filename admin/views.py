"""Admin console (web layer): sign-in, overview, platforms, keys and the audit log."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import select

from admin import service
from admin.auth import admin_required, audit, console_actor, console_scope
from admin.forms import ActionForm, LoginForm, PlatformForm
from admin.users import authenticate
from lti_tool.infra.models import ToolKey
from lti_tool.lti import registration as registration_service
from lti_tool.lti.keys import rotate_signing_key
from lti_tool.web.transaction import request_session, settings

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(
            request_session(), username=form.username.data, password=form.password.data
        )
        if user is not None:
            session.clear()
            session["admin_user"] = {
                "id": user.id,
                "username": user.username,
                "role": user.role,
                "tenant_id": user.tenant_id,
            }
            audit("console.login", user.username)
            target = request.args.get("next") or ""
            # Only local paths: never an open redirect.
            if not target.startswith("/") or target.startswith("//"):
                target = url_for("admin.dashboard")
            return redirect(target)
        flash("Wrong username or password.", "error")
    return render_template("admin/login.html", form=form)


@bp.post("/logout")
@admin_required()
def logout() -> Any:
    session.clear()
    return redirect(url_for("admin.login"))


@bp.get("/")
@admin_required()
def dashboard() -> Any:
    counts = service.count_overview(request_session(), tenant_id=console_scope())
    return render_template("admin/dashboard.html", counts=counts)


@bp.route("/platforms", methods=["GET", "POST"])
@admin_required("admin")
def platforms() -> Any:
    form = PlatformForm()
    if form.validate_on_submit():
        try:
            registration = registration_service.add_registration(
                request_session(),
                issuer=form.issuer.data.strip(),
                client_id=form.client_id.data.strip(),
                auth_login_url=form.auth_login_url.data.strip(),
                auth_token_url=form.auth_token_url.data.strip(),
                key_set_url=form.key_set_url.data.strip(),
                deployment_id=(form.deployment_id.data or "").strip() or None,
                name=form.name.data or "",
                platform_kind=form.platform_kind.data,
                unknown_deployment_policy=form.unknown_deployment_policy.data,
                actor=console_actor(),
                # The console's platform form is the admin's explicit edit.
                allow_update=True,
            )
        except registration_service.RegistrationFailed as exc:
            flash(str(exc), "error")
        else:
            flash(
                f"Saved platform {registration.issuer} ({registration.client_id}).",
                "ok",
            )
            return redirect(url_for("admin.platforms"))
    rows = service.list_platforms(request_session(), tenant_id=console_scope())
    return render_template(
        "admin/platforms.html",
        form=form,
        registrations=rows,
        values=registration_service.install_values(settings()),
        action_form=ActionForm(),
    )


@bp.post("/platforms/invitation")
@admin_required("admin")
def platform_invitation() -> Any:
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400, "The form expired: reload the page and try again.")
    invite = registration_service.make_invitation(
        settings(), created_by=g.admin_user["username"]
    )
    audit("registration.invitation_created")
    values = registration_service.install_values(settings(), invite=invite)
    return render_template("admin/invitation.html", values=values)


@bp.route("/keys", methods=["GET", "POST"])
@admin_required("admin")
def keys() -> Any:
    form = ActionForm()
    if form.validate_on_submit():
        key = rotate_signing_key(
            request_session(), grace_days=settings().key_rotation_grace_days
        )
        audit("keys.rotated", key.kid)
        flash(f"New signing key {key.kid} is active.", "ok")
        return redirect(url_for("admin.keys"))
    rows = (
        request_session()
        .scalars(select(ToolKey).order_by(ToolKey.created_at.desc()))
        .all()
    )
    return render_template("admin/keys.html", keys=rows, form=form)


@bp.get("/audit")
@admin_required("admin")
def audit_log() -> Any:
    rows = service.list_audit_entries(request_session(), tenant_id=console_scope())
    return render_template("admin/audit.html", entries=rows)


@bp.app_context_processor
def _console_navigation() -> dict[str, Any]:
    """Console areas contributed by other modules (listed once, here)."""
    return {
        "admin_nav": [
            ("admin_lrs.connections", "LRS"),
            ("admin_lrs.outbox", "Outbox"),
        ]
    }
