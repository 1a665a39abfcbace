"""Web layer: the LTI 1.3 endpoints an LMS calls (login, launch, JWKS, registration); thin."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, g, make_response, redirect, render_template, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response as WerkzeugResponse

from lti_tool.infra.models import Registration
from lti_tool.lti import deep_linking, dynamic_registration
from lti_tool.lti import registration as registration_service
from lti_tool.lti.claims import MESSAGE_DEEP_LINKING
from lti_tool.lti.errors import LaunchRejected
from lti_tool.lti.keys import published_jwks
from lti_tool.lti.launch import validate_launch
from lti_tool.lti.launch_token import issue_launch_token, launch_context
from lti_tool.lti.login import STATE_COOKIE_PREFIX, auth_origin, begin_login
from lti_tool.lti.login_state import pending_login
from lti_tool.lti.relaunch import new_window_launch
from lti_tool.usecases.launch import complete_launch
from lti_tool.web.landing import (
    launch_url,
    link_policy,
    rejected_page,
    render_home,
    render_picker,
    too_large_page,
)
from lti_tool.web.transaction import (
    durable_store,
    request_session,
    request_store,
    settings,
    writes_on_get,
)

log = logging.getLogger("pathwise.launch")

bp = Blueprint("lti", __name__, url_prefix="/lti")

# Marks the launch form Pathwise posted again from its own page (see launch()).
REPOST_FIELD = "pathwise_repost"


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc: RequestEntityTooLarge) -> tuple[str, int]:
    return too_large_page()


def _in_frame() -> bool:
    """The browser says this request loads a frame (Fetch Metadata, all current browsers)."""
    return request.headers.get("Sec-Fetch-Dest", "") in {"iframe", "frame"}


def _where() -> str:
    """``frame``, ``window`` or ``unknown``: where the page will show, for its words."""
    if _in_frame():
        return "frame"
    if request.headers.get("Sec-Fetch-Dest") == "document":
        return "window"
    return "unknown"


def _is_secure() -> bool:
    return request.is_secure or settings().base_url.startswith("https://")


def _set_cross_site_cookie(
    response: WerkzeugResponse, name: str, value: str, max_age: int
) -> None:
    """SameSite=None; Secure; Partitioned where possible, so LMS iframes keep it (CHIPS)."""
    if _is_secure():
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            secure=True,
            httponly=True,
            samesite="None",
            partitioned=True,
            path="/lti/",
        )
    else:
        response.set_cookie(
            name, value, max_age=max_age, httponly=True, samesite="Lax", path="/lti/"
        )


@bp.route("/login", methods=["GET", "POST"])
@writes_on_get  # OIDC login initiation may be a GET; it stores the state and nonce.
def login() -> Any:
    params = {**request.args.to_dict(), **request.form.to_dict()}
    try:
        outcome = begin_login(
            request_session(),
            request_store(),
            params=params,
            launch_url=launch_url(),
            state_ttl_s=settings().launch_state_ttl_s,
        )
    except LaunchRejected as exc:
        return rejected_page(exc)
    response: WerkzeugResponse
    if outcome.storage_target:
        # LTI platform storage: keep state/nonce in the LMS's own frame, no cookie needed.
        response = make_response(
            render_template(
                "lti_storage_login.html",
                auth_url=outcome.auth_url,
                state=outcome.state,
                nonce=outcome.nonce,
                target=outcome.storage_target,
                origin=outcome.auth_origin,
            )
        )
    else:
        response = redirect(outcome.auth_url, code=302)
    _set_cross_site_cookie(
        response,
        STATE_COOKIE_PREFIX + outcome.state,
        outcome.state,
        settings().launch_state_ttl_s,
    )
    return response


@bp.post("/launch")
def launch() -> Any:
    form = request.form.to_dict()
    reposted = form.pop(REPOST_FIELD, None) is not None
    state = form.get("state", "")
    cookie = request.cookies.get(STATE_COOKIE_PREFIX + state) if state else None
    platform_state = form.get("platform_storage_state")
    # Only a frame without our cookie needs the pending login (platform storage or
    # the new-window fallback); the usual launch saves that read.
    pending = (
        pending_login(request_store(), state) if state and cookie is None else None
    )
    if (
        cookie is None
        and platform_state is None
        and pending
        and pending.get("storage_target")
        and _where() != "window"
    ):
        # No cookie in this frame: read the state back from platform storage first.
        # (A window has no LMS frame to ask; its first-party cookie comes by repost.)
        return render_template(
            "lti_storage_launch.html",
            id_token=form.get("id_token", ""),
            state=state,
            target=pending["storage_target"],
            origin=_platform_origin(pending),
        )
    if (
        cookie is None
        and platform_state is None
        and pending
        and not reposted
        and not _in_frame()
    ):
        # A window over http: the state cookie is SameSite=Lax, which the LMS's
        # cross-site form post does not carry; the same form posted from this
        # page (same site) carries it. Moodle's auth.php reposts the same way.
        return render_template(
            "launch_repost.html",
            id_token=form.get("id_token", ""),
            state=state,
            repost_field=REPOST_FIELD,
        )
    try:
        registration, tenant, claims = validate_launch(
            request_session(),
            request_store(),
            form=form,
            state_cookie=cookie,
            platform_storage_state=platform_state,
            leeway_s=settings().clock_leeway_s,
            secure=_is_secure(),
            links=link_policy(),
            key_store=durable_store(),
        )
    except LaunchRejected as exc:
        if exc.code == "bad_state" and cookie is None and pending is not None:
            return _cookie_blocked_page(pending)
        return rejected_page(exc)
    outcome = complete_launch(
        request_session(),
        registration=registration,
        tenant=tenant,
        claims=claims,
        lrs_pull_budget_s=settings().lrs_pull_budget_s,
    )
    token = issue_launch_token(
        secret_key=settings().secret_key,
        ttl_s=settings().launch_token_ttl_s,
        launch=outcome.launch,
    )
    log.info(
        "launch accepted: tenant=%s person=%s role=%s message=%s",
        tenant.id,
        outcome.person.id,
        outcome.role,
        outcome.message_type,
    )
    if outcome.message_type == MESSAGE_DEEP_LINKING:
        deep_linking.remember_request(
            request_store(), outcome, ttl_s=settings().launch_token_ttl_s
        )
    # The page comes in the launch's own response (one round trip fewer inside the
    # LMS frame, and no URL ever carries the token); its script moves the address to
    # the page's plain URL, so a reload is a GET, never a replayed id_token.
    ctx = launch_context(outcome.launch, ttl_s=settings().launch_token_ttl_s)
    response: WerkzeugResponse
    if outcome.message_type == MESSAGE_DEEP_LINKING:
        try:
            response = make_response(render_picker(ctx, token))
        except LaunchRejected as exc:  # a learner cannot place content
            return rejected_page(exc)
    else:
        # The launch records the recommendation; a reload only shows it.
        response = render_home(ctx, token, recommend=True)
    if state:
        response.delete_cookie(STATE_COOKIE_PREFIX + state, path="/lti/")
    return response


def _platform_origin(pending: dict[str, Any]) -> str:
    registration = request_session().get(Registration, pending.get("registration_id"))
    if registration is None:
        return "*"
    return auth_origin(registration)


def _cookie_blocked_page(pending: dict[str, Any]) -> tuple[str, int]:
    """No state cookie came back and no platform storage: a new window, or why not."""
    g.db_rollback = True
    registration = request_session().get(Registration, pending.get("registration_id"))
    if registration is None:
        return rejected_page(
            LaunchRejected("bad_state", "The login's platform is no longer registered.")
        )
    relaunch = new_window_launch(
        issuer=registration.issuer,
        login_params=dict(pending.get("login_params") or {}),
        tool_login_url=settings().base_url + "/lti/login",
    )
    where = _where()
    log.warning(
        "launch rejected: bad_state cookies blocked (%s); %s",
        where,
        "offering a fresh launch from the LMS"
        if relaunch.fresh_from_lms
        else "offering the login again"
        if relaunch.url
        else "no new-window launch for this LMS message",
    )
    page = render_template(
        "cookie_blocked.html",
        relaunch=relaunch,
        where=where,
        tool_host=urlsplit(settings().base_url).netloc,
        secure=_is_secure(),
    )
    return page, 400


@bp.get("/jwks")
def jwks() -> Any:
    response = make_response(published_jwks(request_session()))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.route("/register", methods=["GET", "POST"])
@writes_on_get  # LTI Dynamic Registration opens with a GET that stores the registration.
def register() -> Any:
    """LTI Dynamic Registration (Moodle 3.10+/4.x, Canvas)."""
    openid_configuration = request.values.get("openid_configuration", "")
    registration_token = request.values.get("registration_token")
    try:
        result = dynamic_registration.register_platform(
            request_session(),
            settings=settings(),
            openid_configuration_url=openid_configuration,
            registration_token=registration_token,
            invitation=request.values.get("invite", ""),
            store=request_store(),
            client_address=request.remote_addr or "",
        )
    except registration_service.RegistrationFailed as exc:
        log.warning("dynamic registration failed: %s", exc)
        # A refusal keeps its audit entry (nothing else was written); any other
        # failure rolls back whatever the exchange had written.
        if not isinstance(exc, registration_service.RegistrationRefused):
            g.db_rollback = True
        return render_template("register_error.html", message=str(exc)), exc.status
    return render_template("register_done.html", result=result)


@bp.get("/canvas.json")
def canvas_json() -> Any:
    return registration_service.canvas_developer_key_json(settings())
