"""Web layer: the learner API under /api/v1 (JSON, bearer launch token) and its OpenAPI.

Thin views: authenticate the launch, validate the body with its pydantic schema, call
one use case of ``lti_tool.learner_journey``, validate the answer with its schema.
Each route is declared once in ``ROUTES``, which both registers it and documents it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, g, jsonify, request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from adaptive.submissions import SubmissionKindMismatch
from adaptive.visibility import NotVisibleError
from lti_tool.infra.db import utcnow
from lti_tool.infra.models import ROLE_LEARNER
from lti_tool.learner_journey.attempts import activity_for_player, submit_attempt
from lti_tool.learner_journey.path import (
    learner_path,
    next_step_within,
    set_time_budget,
    time_budget,
)
from lti_tool.learner_journey.placement import (
    answer_placement_once,
    open_placement,
    skip_placement_once,
)
from lti_tool.learner_journey.xapi_content import xapi_launch
from lti_tool.lti.errors import LaunchRejected
from lti_tool.lti.launch_token import LaunchContext, check_launch_row, read_launch_token
from lti_tool.web.api_openapi import ApiRoute, openapi_document
from lti_tool.web.api_schemas import (
    ActivityOut,
    AttemptIn,
    AttemptOut,
    Empty,
    PathOut,
    PlacementAnswerIn,
    PlacementAnswerOut,
    PlacementOut,
    TimeBudgetIn,
    TimeBudgetOut,
    XapiLaunchOut,
)
from lti_tool.web.markdown import render_markdown
from lti_tool.web.transaction import request_session, request_store, settings

api_bp = Blueprint("api", __name__, url_prefix="/api")


def _error(code: str, message: str, status: int, **extra: Any) -> Response:
    response = jsonify({"error": code, "message": message, **extra})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = f'Bearer error="{code}"'
    return response


@api_bp.errorhandler(LaunchRejected)
def _rejected(exc: LaunchRejected) -> Response:
    return _error(exc.code, exc.message, exc.status)


@api_bp.errorhandler(ValidationError)
def _invalid(exc: ValidationError) -> Response:
    details = [
        {"loc": [str(p) for p in e["loc"]], "msg": e["msg"], "type": e["type"]}
        for e in exc.errors(include_url=False, include_input=False)
    ]
    return _error(
        "invalid_request", "The request body is not valid.", 422, details=details
    )


@api_bp.errorhandler(NotVisibleError)
def _not_visible(exc: NotVisibleError) -> Response:
    return _error("not_found", "There is no such thing for this launch.", 404)


@api_bp.errorhandler(SubmissionKindMismatch)
def _kind_mismatch(exc: SubmissionKindMismatch) -> Response:
    return _error("client_id_reused", "This client_id names another submission.", 409)


@api_bp.errorhandler(HTTPException)
def _http(exc: HTTPException) -> Response:
    code = exc.code or 500
    return _error(exc.name.lower().replace(" ", "_"), exc.description or "", code)


# ------------------------------------------------------------------ auth


def api_launch(*, write: bool) -> LaunchContext:
    """The launch the bearer token names; 401 without a valid one, 403 if not a learner.

    Only the ``Authorization`` header is read: a token in the URL is refused, so it
    never reaches logs, Referers or history. Every route here is the learner's own;
    instructors and admins use the instructor page instead (``learner_only``).
    """
    if "lt" in request.args or "token" in request.args:
        raise LaunchRejected(
            "token_in_url",
            "Send the launch token as a bearer header, not in the URL.",
            400,
        )
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise LaunchRejected(
            "no_token", "Send the launch token as Authorization: Bearer.", 401
        )
    ctx = read_launch_token(secret_key=settings().secret_key, token=token.strip())
    # Held for the request: the use case reads the launch again, and the session
    # keeps only referenced rows (a dropped one would cost a second query).
    g.api_launch_row = check_launch_row(request_session(), ctx)
    if ctx.role != ROLE_LEARNER:
        raise LaunchRejected(
            "learner_only",
            "The learner API acts for learners; instructors see progress on their page."
            if not write
            else "Only the learner can submit their own work.",
            403,
        )
    return ctx


def _body(model: type[BaseModel]) -> Any:
    if not request.is_json:
        raise LaunchRejected("not_json", "Send a JSON body (application/json).", 415)
    return model.model_validate(request.get_json(silent=True) or {})


def _time_budget(ctx: LaunchContext) -> float | None:
    return time_budget(request_store(), ctx)


def _out(model: type[BaseModel], data: dict[str, Any], status: int = 200) -> Response:
    response = jsonify(model.model_validate(data).model_dump(mode="json"))
    response.status_code = status
    return response


# ---------------------------------------------------------------- routes


def get_path() -> Response:
    ctx = api_launch(write=False)
    data = learner_path(
        request_session(), ctx, now=utcnow(), time_budget_min=_time_budget(ctx)
    )
    return _out(PathOut, data)


def post_placement() -> Response:
    ctx = api_launch(write=True)
    if request.content_length:
        _body(Empty)
    return _out(PlacementOut, open_placement(request_session(), ctx, now=utcnow()))


def post_placement_skip() -> Response:
    ctx = api_launch(write=True)
    if request.content_length:
        _body(Empty)
    return _out(PlacementOut, skip_placement_once(request_session(), ctx, now=utcnow()))


def post_placement_answer() -> Response:
    ctx = api_launch(write=True)
    body: PlacementAnswerIn = _body(PlacementAnswerIn)
    data = answer_placement_once(
        request_session(),
        ctx,
        client_id=str(body.client_id),
        ref=body.ref,
        answer=body.answer,
        now=utcnow(),
        base_url=settings().base_url,
    )
    return _out(PlacementAnswerOut, data)


def get_activity(key: str) -> Response:
    ctx = api_launch(write=False)
    return _out(ActivityOut, activity_for_player(request_session(), ctx, key=key))


def post_xapi_launch(key: str) -> Response:
    ctx = api_launch(write=True)
    if request.content_length:
        _body(Empty)
    data = xapi_launch(
        request_session(),
        ctx,
        key=key,
        base_url=settings().base_url,
        secret_key=settings().secret_key,
        # The content's credential lives as long as a launch token would.
        ttl_s=settings().launch_token_ttl_s,
        now=utcnow(),
    )
    return _out(XapiLaunchOut, data)


def post_attempt() -> Response:
    ctx = api_launch(write=True)
    body: AttemptIn = _body(AttemptIn)
    data = submit_attempt(
        request_session(),
        ctx,
        client_id=str(body.client_id),
        activity_key=body.activity_key,
        responses=list(body.responses),
        minutes=body.minutes,
        now=utcnow(),
        base_url=settings().base_url,
        time_budget_min=_time_budget(ctx),
    )
    feedback = [
        {**item, "feedback_html": str(render_markdown(item["feedback"]))}
        for item in data["feedback"]
    ]
    return _out(AttemptOut, {**data, "feedback": feedback})


def post_time_budget() -> Response:
    ctx = api_launch(write=True)
    body: TimeBudgetIn = _body(TimeBudgetIn)
    set_time_budget(request_store(), ctx, minutes=body.minutes, now=utcnow())
    step = next_step_within(
        request_session(), ctx, now=utcnow(), time_budget_min=body.minutes
    )
    return _out(TimeBudgetOut, {"minutes": body.minutes, "next_step": step})


@dataclass(frozen=True)
class _Bound:
    route: ApiRoute
    view: Callable[..., Response]


ROUTES: tuple[_Bound, ...] = (
    _Bound(
        ApiRoute("GET", "/v1/me/path", "The learner's path", None, PathOut), get_path
    ),
    _Bound(
        ApiRoute(
            "POST",
            "/v1/placement",
            "Start or resume the placement check",
            None,
            PlacementOut,
        ),
        post_placement,
    ),
    _Bound(
        ApiRoute(
            "POST",
            "/v1/placement/skip",
            "Skip the placement check: start from the beginning (idempotent)",
            None,
            PlacementOut,
        ),
        post_placement_skip,
    ),
    _Bound(
        ApiRoute(
            "POST",
            "/v1/placement/answers",
            "Answer the pending placement question (idempotent by client_id)",
            PlacementAnswerIn,
            PlacementAnswerOut,
        ),
        post_placement_answer,
    ),
    _Bound(
        ApiRoute(
            "GET",
            "/v1/activities/<key>",
            "An activity of the launch's module, for the player (no answer keys)",
            None,
            ActivityOut,
        ),
        get_activity,
    ),
    _Bound(
        ApiRoute(
            "POST",
            "/v1/activities/<key>/xapi-launch",
            "The launch URL of an external xAPI activity, with a short-lived "
            "credential for the Pathwise LRS facade",
            None,
            XapiLaunchOut,
        ),
        post_xapi_launch,
    ),
    _Bound(
        ApiRoute(
            "POST",
            "/v1/attempts",
            "Submit an attempt (idempotent by client_id); returns the next step",
            AttemptIn,
            AttemptOut,
        ),
        post_attempt,
    ),
    _Bound(
        ApiRoute(
            "POST",
            "/v1/time-budget",
            "Set this sitting's time budget; returns the next step that fits",
            TimeBudgetIn,
            TimeBudgetOut,
        ),
        post_time_budget,
    ),
)

for _bound in ROUTES:
    api_bp.add_url_rule(
        _bound.route.rule,
        endpoint=_bound.view.__name__,
        view_func=_bound.view,
        methods=[_bound.route.method],
    )


@api_bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 document of /api/v1, generated from ``ROUTES`` and the schemas."""
    return jsonify(
        openapi_document([b.route for b in ROUTES], base_url=settings().base_url)
    )
