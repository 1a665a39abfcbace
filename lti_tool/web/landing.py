"""Web layer: the launch's landing page and its error page, shared by the LTI and learner views."""

from __future__ import annotations

import logging

from flask import g, make_response, render_template, request
from werkzeug.wrappers import Response as WerkzeugResponse

from lti_tool.infra.db import utcnow
from lti_tool.learner_journey.path import recommend_at_launch
from lti_tool.lti import deep_linking
from lti_tool.lti.errors import LaunchRejected
from lti_tool.lti.launch_token import (
    LaunchContext,
    check_launch_row,
    read_launch_token,
)
from lti_tool.lti.link_urls import LinkPolicy
from lti_tool.web import pages
from lti_tool.web.learner_pages import render_landing
from lti_tool.web.transaction import request_session, request_store, settings

log = logging.getLogger("pathwise.launch")


def launch_url() -> str:
    """Where LMSs post id_tokens: the redirect URI and every link's target."""
    return settings().base_url + "/lti/launch"


def link_policy() -> LinkPolicy:
    """The tool's launch URL and the platform URLs a browser may be sent to."""
    return LinkPolicy(
        launch_url=launch_url(),
        allow_http=not settings().is_production,
        extra_return_origins=settings().deep_link_return_origins,
    )


def rejected_page(exc: LaunchRejected) -> tuple[str, int]:
    """A readable error page and exactly one log line naming the reason."""
    log.warning(
        "launch rejected: %s %s (remote=%s path=%s)",
        exc.code,
        exc.message,
        request.remote_addr,
        request.path,
    )
    g.db_rollback = True
    return (
        render_template("launch_error.html", code=exc.code, message=exc.message),
        exc.status,
    )


def too_large_page() -> tuple[str, int]:
    """A request body over ``PATHWISE_MAX_REQUEST_BYTES``, refused before it was read."""
    return rejected_page(
        LaunchRejected(
            "request_too_large",
            f"The request is larger than {settings().max_request_bytes} bytes.",
            413,
        )
    )


def request_launch_token() -> str | None:
    """The launch token this request carries: an ``Authorization: Bearer`` header or
    the POST body's ``lt``, never the URL.

    A token in a URL ends up in access logs, Referers and the browser's history, so
    the old ``?lt=`` links are refused outright rather than quietly honoured.
    """
    if "lt" in request.args:
        raise LaunchRejected(
            "token_in_url",
            "This link carries a sign-in token in its address, which Pathwise no "
            "longer accepts. Open Pathwise again from your course in the LMS.",
            400,
        )
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[len("Bearer ") :].strip() or None
    if request.method == "POST":
        return request.form.get("lt") or None
    return None


def launch_for(token: str | None) -> LaunchContext:
    """The launch ``token`` authorises; 401 when there is none or it is bad."""
    if not token:
        raise LaunchRejected(
            "no_launch", "Open Pathwise from your course in the LMS to continue.", 401
        )
    ctx = read_launch_token(secret_key=settings().secret_key, token=token)
    check_launch_row(request_session(), ctx)
    return ctx


def current_launch() -> LaunchContext:
    """The launch a page or API call acts for, from the signed launch token."""
    return launch_for(request_launch_token())


def resume_page(resume_url: str) -> str:
    """A reload of a learner page: its script re-posts the tab's token to ``resume_url``.

    The token lives in the page and in ``sessionStorage`` (per tab, and available in
    an LMS iframe where third-party cookies are not), so this page holds no data of
    its own; without a stored token it asks the learner to reopen the activity.
    """
    return render_template("resume.html", resume_url=resume_url)


def render_home(ctx: LaunchContext, token: str, *, recommend: bool) -> WerkzeugResponse:
    """The learner's landing page (placement check or path) or the manager's page.

    ``recommend`` is for the launch itself: it records the learner's next step as
    a *recommended* statement. A later view of the page (a GET) only shows it.
    """
    session = request_session()
    view = pages.launch_view(session, ctx)
    if ctx.role == "learner":
        decided = (
            recommend_at_launch(
                session, ctx, now=utcnow(), base_url=settings().base_url
            )
            if view.module_id is not None and recommend
            else None
        )
        body = render_landing(ctx, token, view, decided=decided)
    else:
        body = render_template("manager_home.html", view=view, lt=token)
    response: WerkzeugResponse = make_response(body)
    return response


def render_picker(ctx: LaunchContext, token: str) -> str:
    """The deep-linking picker: the modules this instructor's tenant may place."""
    if ctx.role == "learner":
        raise LaunchRejected(
            "forbidden", "Only instructors can add Pathwise to a course.", 403
        )
    modules = deep_linking.catalogue_modules(request_session(), ctx.tenant_id)
    # The selection must come back with this value: a launch token alone (which an
    # attacker can mint for their own launch) cannot return content.
    picker = deep_linking.picker_token(request_store(), ctx)
    return render_template(
        "deep_link_picker.html", modules=modules, lt=token, picker_token=picker
    )
