"""Web layer: a manager's pages in the LMS frame (capability, one learner's path); thin.

Page views are a GET (the small re-post page, or a bearer token) or a read-only
POST carrying the launch token, as the learner pages are. Every change is a POST
from the tool's own origin with the token in its body, then a 303 back to the
page (Post/Redirect/Get: a reload never repeats a change).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy.orm import Session
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response as WerkzeugResponse

from lti_tool.infra.db import utcnow
from lti_tool.lti import deep_linking
from lti_tool.lti.errors import LaunchRejected
from lti_tool.lti.link_urls import origin_of
from lti_tool.usecases.manager_actions import (
    ActionRefused,
    end_pairing,
    override_path,
    pair_with_mentor,
    withdraw_override,
)
from lti_tool.usecases.manager_review import (
    ManagerScope,
    capability_page,
    learner_review,
    manager_scope,
)
from lti_tool.web.landing import (
    launch_for,
    rejected_page,
    request_launch_token,
    resume_page,
    too_large_page,
)
from lti_tool.web.transaction import read_only_post, request_session, settings

manager_bp = Blueprint("manager", __name__, url_prefix="/app/manage")

# The confirmation a page shows after a change (``?done=`` names one of these).
DONE = {
    "pin": "Pinned: that activity is the learner's next step.",
    "skip_skill": "Skill skipped for this learner.",
    "set_target": "Target level changed for this learner.",
    "reviewed": "Marked as reviewed, with your note.",
    "revoked": "Override revoked.",
    "paired": "Mentor paired.",
    "unpaired": "Pairing ended.",
}


@manager_bp.errorhandler(LaunchRejected)
def _launch_token_error(exc: LaunchRejected) -> tuple[str, int]:
    return rejected_page(exc)


@manager_bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc: RequestEntityTooLarge) -> tuple[str, int]:
    return too_large_page()


@manager_bp.get("")
def capability() -> Any:
    token = request_launch_token()
    if token is None:
        return resume_page(url_for("manager.capability_post"))
    return _capability_page(token)


@manager_bp.post("")
@read_only_post
def capability_post() -> Any:
    return _capability_page(request_launch_token())


@manager_bp.get("/learner/<int:person_id>")
def learner(person_id: int) -> Any:
    token = request_launch_token()
    if token is None:
        done = request.args.get("done", "")
        resume = url_for("manager.learner_post", person_id=person_id)
        # The confirmation survives the re-post; anything else in the query is dropped.
        return resume_page(resume + (f"?done={done}" if done in DONE else ""))
    return _learner_page(token, person_id)


@manager_bp.post("/learner/<int:person_id>")
@read_only_post
def learner_post(person_id: int) -> Any:
    return _learner_page(request_launch_token(), person_id)


@manager_bp.post("/learner/<int:person_id>/overrides")
def add_override(person_id: int) -> Any:
    """Pin an activity, skip a skill, change a target or mark reviewed (audited)."""
    return _change(
        person_id,
        lambda session, scope: override_path(
            session, scope, person_id, request.form, now=utcnow()
        ),
    )


@manager_bp.post("/learner/<int:person_id>/overrides/<int:override_id>/revoke")
def revoke(person_id: int, override_id: int) -> Any:
    """Withdraw one of the learner's overrides (audited; kept for the record)."""

    def act(session: Session, scope: ManagerScope) -> str:
        withdraw_override(session, scope, person_id, override_id, now=utcnow())
        return "revoked"

    return _change(person_id, act)


@manager_bp.post("/learner/<int:person_id>/mentors")
def pair(person_id: int) -> Any:
    """Pair the learner with a colleague at their target on a skill (audited)."""

    def act(session: Session, scope: ManagerScope) -> str:
        pair_with_mentor(session, scope, person_id, request.form, now=utcnow())
        return "paired"

    return _change(person_id, act)


@manager_bp.post("/learner/<int:person_id>/mentors/<int:pairing_id>/revoke")
def unpair(person_id: int, pairing_id: int) -> Any:
    """End one of the learner's mentor pairings (audited; kept for the record)."""

    def act(session: Session, scope: ManagerScope) -> str:
        end_pairing(session, scope, person_id, pairing_id, now=utcnow())
        return "unpaired"

    return _change(person_id, act)


def _capability_page(token: str | None) -> WerkzeugResponse:
    session = request_session()
    scope = manager_scope(session, launch_for(token))
    page = capability_page(session, scope, now=utcnow())
    return make_response(
        render_template(
            "manager_capability.html", scope=scope, page=page, lt=token or ""
        )
    )


def _learner_page(
    token: str | None,
    person_id: int,
    *,
    error: str = "",
    status: int = 200,
) -> WerkzeugResponse:
    session = request_session()
    scope = manager_scope(session, launch_for(token))
    review = learner_review(session, scope, person_id, now=utcnow())
    done = request.args.get("done", "")
    body = render_template(
        "manager_learner.html",
        scope=scope,
        review=review,
        lt=token or "",
        done=DONE.get(done, "") if not error else "",
        error=error,
        kept=request.form if error else {},
    )
    return make_response(body, status)


def _change(
    person_id: int, act: Callable[[Session, ManagerScope], str]
) -> WerkzeugResponse:
    """Check origin, token and role, make the change, then 303 back to the page.

    A form the manager must correct comes back as the page (400) with the message
    and what they typed, and nothing is stored.
    """
    # Before the token is read: a page elsewhere must not drive a manager's browser.
    deep_linking.check_same_origin_post(
        sec_fetch_site=request.headers.get("Sec-Fetch-Site"),
        origin=request.headers.get("Origin"),
        tool_origin=origin_of(settings().base_url) or "",
        what="The change to a learner's path",
    )
    token = request_launch_token()
    session = request_session()
    scope = manager_scope(session, launch_for(token))
    try:
        done = act(session, scope)
    except ActionRefused as exc:
        g.db_rollback = True
        return _learner_page(token, person_id, error=str(exc), status=400)
    response: WerkzeugResponse = redirect(
        url_for("manager.learner", person_id=person_id, done=done), 303
    )
    return response
