"""Development LMS (web): the blueprint: course page, OIDC, token, AGS, NRPS, DL."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    make_response,
    render_template,
    request,
)
from flask.typing import ResponseReturnValue

from lti_tool.devplatform.errors import (
    AuthorizationError,
    OAuthError,
    PlatformError,
    ServiceError,
)
from lti_tool.devplatform.model import SAMPLE_USERS
from lti_tool.devplatform.platform import DevPlatform
from lti_tool.devplatform.vocabulary import (
    DEV_PREFIX,
    MEDIA_LINEITEM,
    MEDIA_LINEITEMS,
    MEDIA_MEMBERSHIPS,
    MEDIA_RESULTS,
    MESSAGE_DEEP_LINKING,
    MESSAGE_RESOURCE_LINK,
    SCOPE_LINEITEM,
    SCOPE_LINEITEM_READONLY,
    SCOPE_NRPS,
    SCOPE_RESULT_READONLY,
    SCOPE_SCORE,
    STORAGE_TARGET,
)

EXTENSION = "pathwise.devplatform"
# Who is signed in to this LMS (a sample user's key): what a Moodle session is to
# mod/lti/launch.php. The development LMS lets anyone pick any user anyway.
LMS_USER_COOKIE = "pathwise_dev_lms_user"

bp = Blueprint(
    "devplatform", __name__, url_prefix=DEV_PREFIX, template_folder="templates"
)


@bp.record_once
def _exempt_from_csrf(state: Any) -> None:
    # The tool posts here (token, deep-link return) with signed JWTs, as to any LMS.
    csrf = state.app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(bp)


class PlatformHolder:
    """The platform an app serves, built on the first request that needs it.

    Building lazily keeps app creation free of side effects: the demo's platform
    reads (or first writes) its key file only when someone opens it.
    """

    def __init__(self, build: Callable[[], DevPlatform]) -> None:
        self._build = build
        self._platform: DevPlatform | None = None
        self._lock = threading.Lock()

    def get(self) -> DevPlatform:
        platform = self._platform
        if platform is not None:
            return platform
        with self._lock:
            if self._platform is None:
                self._platform = self._build()
            return self._platform


def current_platform() -> DevPlatform:
    """The platform of the app serving this request (see app.py)."""
    holder: PlatformHolder = current_app.extensions[EXTENSION]
    return holder.get()


def _json_error(exc: PlatformError) -> Response:
    if isinstance(exc, OAuthError):
        response = jsonify({"error": exc.code, "error_description": exc.description})
    else:
        response = jsonify({"error": exc.code, "message": exc.description})
    response.status_code = exc.status
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


def _html_error(exc: PlatformError) -> ResponseReturnValue:
    return render_template("devplatform/error.html", error=exc), exc.status


def _json(body: Any, media_type: str, status: int = 200) -> Response:
    response = Response(json.dumps(body), status=status, mimetype=media_type)
    response.headers["Cache-Control"] = "no-store"
    return response


def _request_json() -> Any:
    raw = request.get_data(as_text=True)
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        raise ServiceError("invalid_request", "The body is not JSON.") from None


# Canvas pages its line-items container at 10 unless the tool asks for more.
LINEITEMS_DEFAULT_PAGE_SIZE = 10


def _paged(
    items: list[Any], default_limit: int | None = None
) -> tuple[list[Any], str | None]:
    """Apply ``limit``/``page`` and build the ``Link: rel="next"`` header value."""
    limit_raw = request.args.get("limit") or (
        str(default_limit) if default_limit else ""
    )
    if not limit_raw:
        return items, None
    try:
        limit = max(1, int(limit_raw))
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        raise ServiceError(
            "invalid_request", "limit and page must be whole numbers."
        ) from None
    start = (page - 1) * limit
    chunk = items[start : start + limit]
    if start + limit >= len(items):
        return chunk, None
    args = {**request.args.to_dict(), "limit": str(limit), "page": str(page + 1)}
    return chunk, f'<{request.base_url}?{urlencode(args)}>; rel="next"'


@bp.get("/")
def index() -> ResponseReturnValue:
    platform = current_platform()
    platform.register_with_tool()
    return render_template(
        "devplatform/index.html",
        platform=platform,
        users=list(SAMPLE_USERS.values()),
        links=list(platform.links.values()),
        storage_target=STORAGE_TARGET,
    )


@bp.post("/launch")
def launch() -> ResponseReturnValue:
    """Start a launch as an LMS does: auto-post the login initiation to the tool."""
    platform = current_platform()
    platform.register_with_tool()
    user = SAMPLE_USERS.get(request.form.get("user", ""))
    if user is None:
        return _html_error(
            PlatformError("invalid_request", "Choose a user to launch as.")
        )
    deep_linking = request.form.get("mode") == "deep_link"
    link_id = request.form.get("link") or None
    if not deep_linking and link_id not in platform.links:
        return _html_error(
            PlatformError("invalid_request", "Choose a course link to launch.")
        )
    initiation = platform.start_launch(
        user,
        message_type=MESSAGE_DEEP_LINKING if deep_linking else MESSAGE_RESOURCE_LINK,
        link_id=None if deep_linking else link_id,
        storage_target=STORAGE_TARGET if request.form.get("storage") else None,
    )
    response = make_response(
        render_template(
            "devplatform/autosubmit.html",
            action=initiation.login_url,
            fields=initiation.params,
            title="Starting the launch",
        )
    )
    response.set_cookie(
        LMS_USER_COOKIE,
        request.form["user"],
        httponly=True,
        samesite="Lax",
        path=DEV_PREFIX + "/",
    )
    return response


@bp.get("/mod/lti/launch.php")
def course_module_launch() -> ResponseReturnValue:
    """Moodle's launch page for one activity: a fresh login with a new hint.

    The tool's "open in a new window" comes here, as it goes to Moodle's, since the
    hint of the launch it could not finish was used up.
    """
    platform = current_platform()
    user = SAMPLE_USERS.get(request.cookies.get(LMS_USER_COOKIE, ""))
    if user is None:
        return _html_error(
            PlatformError("login_required", "You are not signed in to the LMS.", 401)
        )
    link_id = platform.link_for_course_module(request.args.get("id", ""))
    if link_id is None:
        return _html_error(
            PlatformError("invalid_request", "Invalid course module id.", 404)
        )
    initiation = platform.start_launch(user, link_id=link_id)
    return render_template(
        "devplatform/autosubmit.html",
        action=initiation.login_url,
        fields=initiation.params,
        title="Starting the launch",
    )


@bp.route("/auth", methods=["GET", "POST"])
def auth() -> ResponseReturnValue:
    params = request.values.to_dict()
    try:
        answer = current_platform().authorize(params)
    except AuthorizationError as exc:
        return _html_error(exc)
    return render_template(
        "devplatform/autosubmit.html",
        action=answer.redirect_uri,
        fields=answer.fields,
        title="Signing you in to the tool",
    )


@bp.get("/jwks")
def jwks() -> ResponseReturnValue:
    return jsonify(current_platform().jwks())


@bp.post("/token")
def token() -> ResponseReturnValue:
    try:
        body = current_platform().issue_access_token(request.form.to_dict())
    except PlatformError as exc:
        return _json_error(exc)
    return _json(body, "application/json")


def _ags_fault(platform: DevPlatform) -> Response | None:
    """The next rehearsed outage answer, if a test queued one (``ags_faults``)."""
    fault = platform.next_ags_fault()
    if fault is None:
        return None
    if fault == "timeout":
        # Slower than the tool waits; the call then goes on as if nothing happened.
        time.sleep(platform.ags_fault_delay_s)
        return None
    response = jsonify({"error": "unavailable", "message": f"Rehearsed {fault}."})
    response.status_code = int(fault)
    if fault == "429":
        response.headers["Retry-After"] = "1"
    return response


@bp.route("/ags/<context_id>/lineitems", methods=["GET", "POST"])
def lineitems(context_id: str) -> ResponseReturnValue:
    platform = current_platform()
    fault = _ags_fault(platform)
    if fault is not None:
        return fault
    try:
        if request.method == "POST":
            platform.check_access(
                request.headers.get("Authorization"), [SCOPE_LINEITEM]
            )
            created = platform.create_lineitem(context_id, _request_json())
            return _json(created, MEDIA_LINEITEM, 201)
        platform.check_access(
            request.headers.get("Authorization"),
            [SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY],
        )
        items = platform.list_lineitems(
            context_id,
            resource_link_id=request.args.get("resource_link_id"),
            resource_id=request.args.get("resource_id"),
            tag=request.args.get("tag"),
        )
        page, link = _paged(items, LINEITEMS_DEFAULT_PAGE_SIZE)
    except PlatformError as exc:
        return _json_error(exc)
    response = _json(page, MEDIA_LINEITEMS)
    if link:
        response.headers["Link"] = link
    return response


@bp.route("/ags/<context_id>/lineitems/<int:item_id>", methods=["GET", "PUT", "DELETE"])
def lineitem(context_id: str, item_id: int) -> ResponseReturnValue:
    platform = current_platform()
    auth_header = request.headers.get("Authorization")
    try:
        if request.method == "GET":
            platform.check_access(
                auth_header, [SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY]
            )
            return _json(platform.get_lineitem(context_id, item_id), MEDIA_LINEITEM)
        platform.check_access(auth_header, [SCOPE_LINEITEM])
        if request.method == "PUT":
            updated = platform.update_lineitem(context_id, item_id, _request_json())
            return _json(updated, MEDIA_LINEITEM)
        platform.delete_lineitem(context_id, item_id)
    except PlatformError as exc:
        return _json_error(exc)
    return Response(status=204)


@bp.post("/ags/<context_id>/lineitems/<int:item_id>/scores")
def scores(context_id: str, item_id: int) -> ResponseReturnValue:
    platform = current_platform()
    fault = _ags_fault(platform)
    if fault is not None:
        platform.score_answers.append(fault.status_code)
        return fault
    try:
        platform.check_access(request.headers.get("Authorization"), [SCOPE_SCORE])
        platform.post_score(context_id, item_id, _request_json(), request.content_type)
    except PlatformError as exc:
        platform.score_answers.append(exc.status)
        return _json_error(exc)
    platform.score_answers.append(204)
    return Response(status=204)


@bp.get("/ags/<context_id>/lineitems/<int:item_id>/results")
def results(context_id: str, item_id: int) -> ResponseReturnValue:
    platform = current_platform()
    try:
        platform.check_access(
            request.headers.get("Authorization"), [SCOPE_RESULT_READONLY]
        )
        found = platform.list_results(
            context_id, item_id, user_id=request.args.get("user_id")
        )
        page, link = _paged(found)
    except PlatformError as exc:
        return _json_error(exc)
    response = _json(page, MEDIA_RESULTS)
    if link:
        response.headers["Link"] = link
    return response


@bp.get("/nrps/<context_id>/memberships")
def memberships(context_id: str) -> ResponseReturnValue:
    platform = current_platform()
    try:
        platform.check_access(request.headers.get("Authorization"), [SCOPE_NRPS])
        container = platform.memberships(context_id, role=request.args.get("role"))
        page, link = _paged(container["members"])
    except PlatformError as exc:
        return _json_error(exc)
    response = _json({**container, "members": page}, MEDIA_MEMBERSHIPS)
    if link:
        response.headers["Link"] = link
    return response


@bp.post("/deep-link-return")
def deep_link_return() -> ResponseReturnValue:
    token_value = request.form.get("JWT") or ""
    try:
        received = current_platform().receive_deep_link_response(token_value)
    except PlatformError as exc:
        return _html_error(exc)
    return render_template("devplatform/deep_link_received.html", received=received)


@bp.get("/activity")
def activity() -> ResponseReturnValue:
    platform = current_platform()
    return render_template(
        "devplatform/activity.html",
        platform=platform,
        scores=list(reversed(platform.scores)),
        returns=list(reversed(platform.deep_link_returns)),
        lineitems=list(platform.lineitems.values()),
        when=lambda ts: dt.datetime.fromtimestamp(ts, dt.UTC).strftime(
            "%Y-%m-%d %H:%M:%S UTC"
        ),
    )


@bp.get("/storage-frame")
def storage_frame() -> ResponseReturnValue:
    """LTI platform storage: Canvas's post_message_forwarding frame."""
    return render_template("devplatform/storage_frame.html")
