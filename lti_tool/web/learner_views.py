"""Web layer: the learner and manager pages a launch token opens (home, deep-link picker); thin."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from werkzeug.wrappers import Response as WerkzeugResponse

from lti_tool.lti import deep_linking
from lti_tool.lti.errors import LaunchRejected
from lti_tool.web.landing import current_launch, launch_url, rejected_page, render_home
from lti_tool.web.transaction import request_session, request_store

learner_bp = Blueprint("learner", __name__, url_prefix="/app")


@learner_bp.errorhandler(LaunchRejected)
def _launch_token_error(exc: LaunchRejected) -> tuple[str, int]:
    return rejected_page(exc)


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
    modules = deep_linking.catalogue_modules(request_session(), ctx.tenant_id)
    return render_template(
        "deep_link_picker.html", modules=modules, lt=request.args.get("lt", "")
    )


@learner_bp.post("/deep-link")
def deep_link_return() -> Any:
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
        launch_url=launch_url(),
    )
    return WerkzeugResponse(form_html, mimetype="text/html")
