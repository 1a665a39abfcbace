"""Web layer: the learner and manager pages a launch token opens (home, deep-link picker); thin."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, make_response, render_template, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response as WerkzeugResponse

from lti_tool.lti import deep_linking
from lti_tool.lti.errors import LaunchRejected
from lti_tool.lti.link_urls import origin_of
from lti_tool.web.landing import (
    current_launch,
    link_policy,
    rejected_page,
    render_home,
    too_large_page,
)
from lti_tool.web.transaction import request_session, request_store, settings

learner_bp = Blueprint("learner", __name__, url_prefix="/app")


@learner_bp.errorhandler(LaunchRejected)
def _launch_token_error(exc: LaunchRejected) -> tuple[str, int]:
    return rejected_page(exc)


@learner_bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc: RequestEntityTooLarge) -> tuple[str, int]:
    return too_large_page()


@learner_bp.get("/home")
def home() -> Any:
    # A reload of the landing page: the same next step, recorded once by the launch.
    return render_home(current_launch(), request.args.get("lt", ""), recommend=False)


@learner_bp.get("/deep-link")
def deep_link_picker() -> Any:
    ctx = current_launch()
    if ctx.role == "learner":
        raise LaunchRejected(
            "forbidden", "Only instructors can add Pathwise to a course.", 403
        )
    token = deep_linking.picker_token(request_store(), ctx)
    modules = deep_linking.catalogue_modules(request_session(), ctx.tenant_id)
    response = make_response(
        render_template(
            "deep_link_picker.html",
            modules=modules,
            lt=request.args.get("lt", ""),
            picker_token=token,
        )
    )
    # Same-origin referrers keep the token-bearing URL on our origin while letting
    # the browser send a real Origin with the picker's POST (no-referrer sends "null").
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@learner_bp.post("/deep-link")
def deep_link_return() -> Any:
    # First, before the launch token is even read: a page elsewhere must not be able
    # to submit a selection (its own, or anyone's) through this browser.
    deep_linking.check_same_origin_post(
        sec_fetch_site=request.headers.get("Sec-Fetch-Site"),
        origin=request.headers.get("Origin"),
        tool_origin=origin_of(settings().base_url) or "",
    )
    ctx = current_launch()
    if ctx.role == "learner":
        raise LaunchRejected(
            "forbidden", "Only instructors can add Pathwise to a course.", 403
        )
    module_ids = [int(v) for v in request.form.getlist("module_id") if v.isdigit()]
    form_html = deep_linking.build_response_form(
        request_session(),
        request_store(),
        ctx,
        module_ids=module_ids,
        picker_token_given=request.form.get("picker_token", ""),
        links=link_policy(),
    )
    return WerkzeugResponse(form_html, mimetype="text/html")
