"""Web layer: the pages a launch token opens (home, placement, path, player, deep-link
picker); thin.

The token never rides in a URL: the launch's own response shows the page, and a
reload (a GET without the token) gets a small page that re-posts the tab's token to
the POST form of the same page (``read_only_post``: a page view, it writes nothing).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response as WerkzeugResponse

from lti_tool.infra.db import utcnow
from lti_tool.infra.models import ROLE_LEARNER
from lti_tool.lti import deep_linking
from lti_tool.lti.errors import LaunchRejected
from lti_tool.lti.grade_outbox import retry_grade
from lti_tool.lti.launch_token import LaunchContext
from lti_tool.lti.link_urls import origin_of
from lti_tool.web import pages
from lti_tool.web.landing import (
    current_launch,
    launch_for,
    link_policy,
    rejected_page,
    render_home,
    render_picker,
    request_launch_token,
    resume_page,
    too_large_page,
)
from lti_tool.web.learner_pages import render_path, render_placement
from lti_tool.web.player import render_player
from lti_tool.web.transaction import (
    read_only_post,
    request_session,
    request_store,
    settings,
)

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
    token = request_launch_token()
    if token is None:
        return resume_page(url_for("learner.home_post"))
    return render_home(launch_for(token), token, recommend=False)


@learner_bp.post("/home")
@read_only_post
def home_post() -> Any:
    token = request_launch_token()
    return render_home(launch_for(token), token or "", recommend=False)


@learner_bp.get("/activity/<key>")
def activity(key: str) -> Any:
    # A reload of the player: the same activity, re-opened with the tab's token.
    token = request_launch_token()
    if token is None:
        return resume_page(url_for("learner.activity_post", key=key))
    return render_player(launch_for(token), token, key)


@learner_bp.post("/activity/<key>")
@read_only_post
def activity_post(key: str) -> Any:
    token = request_launch_token()
    return render_player(launch_for(token), token or "", key)


def _learner_launch(token: str | None) -> tuple[LaunchContext, pages.LaunchView]:
    """The launch behind a learner page, and what the page shows about it."""
    ctx = launch_for(token)
    if ctx.role != ROLE_LEARNER:
        raise LaunchRejected(
            "learner_only", "This page is the learner's; open your own page.", 403
        )
    view = pages.launch_view(request_session(), ctx)
    if view.module_id is None:
        raise LaunchRejected(
            "no_module", "This link in the LMS does not open a Pathwise module.", 409
        )
    return ctx, view


@learner_bp.get("/placement")
def placement() -> Any:
    token = request_launch_token()
    if token is None:
        return resume_page(url_for("learner.placement_post"))
    return render_placement(*_learner_launch(token), token=token)


@learner_bp.post("/placement")
@read_only_post
def placement_post() -> Any:
    token = request_launch_token() or ""
    return render_placement(*_learner_launch(token), token=token)


@learner_bp.get("/path")
def path() -> Any:
    token = request_launch_token()
    if token is None:
        return resume_page(url_for("learner.path_post"))
    return render_path(*_learner_launch(token), token=token)


@learner_bp.post("/path")
@read_only_post
def path_post() -> Any:
    token = request_launch_token() or ""
    return render_path(*_learner_launch(token), token=token)


@learner_bp.get("/deep-link")
def deep_link_picker() -> Any:
    token = request_launch_token()
    if token is None:
        return resume_page(url_for("learner.deep_link_picker_post"))
    return render_picker(launch_for(token), token)


@learner_bp.post("/deep-link/picker")
@read_only_post
def deep_link_picker_post() -> Any:
    token = request_launch_token()
    return render_picker(launch_for(token), token or "")


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


@learner_bp.post("/grades/retry")
def grades_retry() -> Any:
    """An instructor sends a learner's grade to the LMS again (audited)."""
    deep_linking.check_same_origin_post(
        sec_fetch_site=request.headers.get("Sec-Fetch-Site"),
        origin=request.headers.get("Origin"),
        tool_origin=origin_of(settings().base_url) or "",
        what="The grade retry",
    )
    token = request_launch_token()
    ctx = launch_for(token)
    if ctx.role == "learner":
        raise LaunchRejected(
            "forbidden", "Only instructors can resend grades to the LMS.", 403
        )
    person_id = request.form.get("person_id", "")
    if ctx.resource_link_pk is None or not person_id.isdigit():
        raise LaunchRejected("no_learner", "Which learner's grade to resend?", 400)
    found = retry_grade(
        request_session(),
        actor=f"lti:{ctx.tenant_id}:{ctx.person_id}",
        tenant_id=ctx.tenant_id,
        resource_link_pk=ctx.resource_link_pk,
        person_id=int(person_id),
        now=utcnow(),
    )
    if not found:
        raise LaunchRejected(
            "no_grade", "This learner has no grade for this activity.", 404
        )
    return render_home(ctx, token or "", recommend=False)
