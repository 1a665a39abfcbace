"""Web layer: the LRS facade external xAPI content calls (``/xapi/lrs/``), thin views.

The content runs in the learner's browser on its own origin, so every answer here
allows any origin (CORS): nothing in this blueprint reads a cookie, and the only
credential is the Authorization header issued for one learner's sitting. The rules
(who may write what, which state is whose) live in ``xapi.facade`` and
``lti_tool.learner_journey.xapi_content``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from werkzeug.wrappers import Response

from lti_tool.infra.db import utcnow
from lti_tool.learner_journey.xapi_content import (
    content_state_key,
    content_statements_sent,
    receive_content_statements,
)
from lti_tool.lti.errors import LaunchRejected
from lti_tool.web.transaction import request_session, settings
from xapi.content_state import delete_state, read_state, write_state
from xapi.facade import ContentGrant, FacadeRefused, read_content_auth

xapi_lrs_bp = Blueprint("xapi_lrs", __name__, url_prefix="/xapi/lrs")

XAPI_VERSION = "1.0.3"
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, PUT, POST, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": (
        "Authorization, Content-Type, X-Experience-API-Version, If-Match, If-None-Match"
    ),
    "Access-Control-Expose-Headers": "X-Experience-API-Version, Content-Type",
    "Access-Control-Max-Age": "600",
}


@xapi_lrs_bp.after_request
def _headers(response: Response) -> Response:
    response.headers.update(_CORS)
    response.headers["X-Experience-API-Version"] = XAPI_VERSION
    response.headers["Cache-Control"] = "no-store"
    return response


def _error(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": code, "message": message})
    response.status_code = status
    return response


@xapi_lrs_bp.errorhandler(FacadeRefused)
def _refused(exc: FacadeRefused) -> Response:
    return _error(exc.status, exc.code, exc.message)


@xapi_lrs_bp.errorhandler(LaunchRejected)
def _rejected(exc: LaunchRejected) -> Response:
    return _error(exc.status, exc.code, exc.message)


def _grant() -> ContentGrant:
    """The credential of the request, then the xAPI version it must name."""
    grant = read_content_auth(
        secret_key=settings().secret_key,
        header=request.headers.get("Authorization", ""),
    )
    if not request.headers.get("X-Experience-API-Version", "").startswith("1.0"):
        raise FacadeRefused(400, "no_version", "Send X-Experience-API-Version: 1.0.3.")
    return grant


def _json_body() -> Any:
    body = request.get_json(silent=True, force=True)
    if body is None:
        raise FacadeRefused(400, "not_json", "Send the statements as JSON.")
    return body


@xapi_lrs_bp.get("/about")
def about() -> Response:
    return jsonify({"version": [XAPI_VERSION]})


@xapi_lrs_bp.post("/statements")
def post_statements() -> Response:
    grant = _grant()
    body = _json_body()
    ids = receive_content_statements(
        request_session(),
        grant,
        statements=body if isinstance(body, list) else [body],
        statement_id=None,
        now=utcnow(),
        base_url=settings().base_url,
    )
    return jsonify(ids)


@xapi_lrs_bp.put("/statements")
def put_statement() -> Response:
    grant = _grant()
    statement_id = request.args.get("statementId")
    if not statement_id:
        raise FacadeRefused(400, "missing_parameter", "statementId is required.")
    receive_content_statements(
        request_session(),
        grant,
        statements=[_json_body()],
        statement_id=statement_id,
        now=utcnow(),
        base_url=settings().base_url,
    )
    return Response(status=204)


@xapi_lrs_bp.get("/statements")
def get_statements() -> Response:
    grant = _grant()
    statement_id = request.args.get("statementId")
    found = content_statements_sent(request_session(), grant, statement_id=statement_id)
    if statement_id is not None:
        if not found:
            raise FacadeRefused(404, "not_found", "No such statement of this sitting.")
        return jsonify(found[0])
    return jsonify({"statements": found, "more": ""})


def _state_request() -> tuple[ContentGrant, Any]:
    grant = _grant()
    key = content_state_key(
        request_session(),
        grant,
        activity_id=request.args.get("activityId"),
        agent=request.args.get("agent"),
        registration=request.args.get("registration"),
        state_id=request.args.get("stateId"),
    )
    return grant, key


@xapi_lrs_bp.get("/activities/state")
def get_state() -> Response:
    grant, key = _state_request()
    found = read_state(request_session(), grant, key)
    if isinstance(found, list):
        return jsonify(found)
    if found is None:
        raise FacadeRefused(404, "not_found", "No such state document.")
    response = Response(found.body, status=200, content_type=found.content_type)
    # The content chose the type: never let a browser render it as our page.
    response.headers["Content-Disposition"] = "attachment"
    return response


@xapi_lrs_bp.route("/activities/state", methods=["PUT", "POST"])
def put_state() -> Response:
    grant, key = _state_request()
    write_state(
        request_session(),
        grant,
        key,
        body=request.get_data(),
        content_type=request.content_type or "application/octet-stream",
        merge=request.method == "POST",
    )
    return Response(status=204)


@xapi_lrs_bp.delete("/activities/state")
def remove_state() -> Response:
    grant, key = _state_request()
    delete_state(request_session(), grant, key)
    return Response(status=204)
