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
from admin.actions import (
    ConsoleActor,
    ConsoleForbidden,
    create_invitation,
    require_install_admin,
    rotate_key,
    save_registration,
)
from admin.auth import (
    acting_user,
    admin_required,
    console_actor,
    console_scope,
    refuse_forbidden,
    safe_next,
    start_console_session,
)
from admin.forms import ActionForm, LoginForm, PlatformForm
from admin.signin import COOLDOWN_S, THROTTLED, sign_in
from admin.users import list_admin_users, sign_out
from lti_tool.infra.models import ToolKey
from lti_tool.lti import registration as registration_service
from lti_tool.web.transaction import request_session, request_store, settings

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("admin/login.html", form=form)
    result = sign_in(
        request_session(),
        request_store(),
        username=form.username.data,
        password=form.password.data,
        address=request.remote_addr or "unknown",
    )
    if result.user is not None:
        start_console_session(result.user)
        return redirect(
            safe_next(request.args.get("next")) or url_for("admin.dashboard")
        )
    if result.refused == THROTTLED:
        flash(
            "Too many failed sign-ins for this account or from this address. "
            f"Try again in {COOLDOWN_S // 60} minutes.",
            "error",
        )
        return render_template("admin/login.html", form=form), 429
    flash("Wrong username or password.", "error")
    return render_template("admin/login.html", form=form)


@bp.post("/logout")
@admin_required()
def logout() -> Any:
    sign_out(request_session(), user_id=g.admin_user["id"], actor=console_actor())
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
            registration = save_registration(
                request_session(),
                actor=acting_user(),
                issuer=form.issuer.data.strip(),
                client_id=form.client_id.data.strip(),
                auth_login_url=form.auth_login_url.data.strip(),
                auth_token_url=form.auth_token_url.data.strip(),
                key_set_url=form.key_set_url.data.strip(),
                deployment_id=(form.deployment_id.data or "").strip() or None,
                name=form.name.data or "",
                platform_kind=form.platform_kind.data,
                unknown_deployment_policy=form.unknown_deployment_policy.data,
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
        may_invite=acting_user().is_install_admin,
    )


@bp.post("/platforms/invitation")
@admin_required("admin")
def platform_invitation() -> Any:
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400, "The form expired: reload the page and try again.")
    invite = create_invitation(request_session(), settings(), actor=acting_user())
    values = registration_service.install_values(settings(), invite=invite)
    return render_template("admin/invitation.html", values=values)


@bp.route("/keys", methods=["GET", "POST"])
@admin_required("admin")
def keys() -> Any:
    form = ActionForm()
    if form.validate_on_submit():
        key = rotate_key(
            request_session(),
            actor=acting_user(),
            grace_days=settings().key_rotation_grace_days,
        )
        flash(f"New signing key {key.kid} is active.", "ok")
        return redirect(url_for("admin.keys"))
    rows = (
        request_session()
        .scalars(select(ToolKey).order_by(ToolKey.created_at.desc()))
        .all()
    )
    return render_template(
        "admin/keys.html",
        keys=rows,
        form=form,
        may_rotate=acting_user().is_install_admin,
    )


@bp.get("/audit")
@admin_required("admin")
def audit_log() -> Any:
    rows = service.list_audit_entries(request_session(), tenant_id=console_scope())
    return render_template("admin/audit.html", entries=rows)


@bp.get("/users")
@admin_required("admin")
def users() -> Any:
    require_install_admin(acting_user(), "console.users")
    return render_template(
        "admin/users.html", users=list_admin_users(request_session())
    )


@bp.app_errorhandler(ConsoleForbidden)
def _forbidden(exc: ConsoleForbidden) -> tuple[str, int]:
    return refuse_forbidden(exc)


@bp.app_context_processor
def _console_navigation() -> dict[str, Any]:
    """Console areas contributed by other modules (listed once, here).

    ``console_user`` is the user ``admin_required`` loaded for this request (never
    the cookie's claim), so the header shows the role and scope the database holds.
    """
    user = g.get("admin_user")
    return {
        "console_user": user,
        "console_install_admin": bool(
            user
            and ConsoleActor(
                name="", role=user["role"], tenant_id=user["tenant_id"]
            ).is_install_admin
        ),
        "admin_nav": [
            ("admin_lrs.connections", "LRS"),
            ("admin_lrs.outbox", "Outbox"),
            ("admin_people.directory", "People"),
        ],
    }
