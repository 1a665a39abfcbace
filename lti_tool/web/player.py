"""Web layer: the activity player page, rendered server-side from the learner API's use case.

The page shows what ``activity_for_player`` returns (never an answer key) with the
author's Markdown sanitised; answering goes through ``POST /api/v1/attempts`` from
``static/player.js``, so the page and any other client share one way in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import render_template

from adaptive.core.answers import MULTIPLE, SCENARIO, SHORT, SINGLE
from adaptive.core.catalogue_format import URL_TYPES
from lti_tool.infra.models import ROLE_LEARNER
from lti_tool.learner_journey.attempts import activity_for_player
from lti_tool.lti.errors import LaunchRejected
from lti_tool.lti.launch_token import LaunchContext
from lti_tool.web.markdown import render_markdown
from lti_tool.web.transaction import request_session

#: Where "Continue" goes when the next step is not an activity (the path page).
PATH_PAGE = "/app/path"
#: Activities run by an external xAPI package, opened through the learner API.
XAPI_KIND = "xapi"

KIND_LABELS = {
    "lesson": "Lesson",
    "worked_example": "Worked example",
    "practice": "Practice",
    "quiz": "Quiz",
    "refresher": "Refresher",
    "placement_item": "Placement question",
    "scenario": "Scenario",
    "video": "Video",
    "link": "Reading elsewhere",
    XAPI_KIND: "External activity",
}
_ANSWER_HINTS = {
    SINGLE: "Choose one answer.",
    MULTIPLE: "Choose every answer that applies.",
    SHORT: "Type a short answer.",
    SCENARIO: "Write your response, then tick each criterion it meets.",
}


@dataclass(frozen=True)
class PlayerQuestion:
    index: int
    type: str
    prompt: str
    hint: str
    options: tuple[str, ...]
    rubric: tuple[str, ...]


@dataclass(frozen=True)
class PlayerView:
    key: str
    title: str
    kind: str
    kind_label: str
    minutes: int
    body_html: str
    questions: tuple[PlayerQuestion, ...]
    open_url: str | None
    xapi: bool

    @property
    def submit_label(self) -> str:
        return "Check my answers" if self.questions else "I have finished"


def _question(index: int, raw: dict[str, Any]) -> PlayerQuestion:
    kind = str(raw.get("type") or SINGLE)
    if kind not in _ANSWER_HINTS:
        # An unknown type cannot be answered here; show it as a short answer
        # rather than lose the question (the catalogue check refuses such files).
        kind = SHORT
    return PlayerQuestion(
        index=index,
        type=kind,
        prompt=str(raw.get("prompt", "")),
        hint=_ANSWER_HINTS[kind],
        options=tuple(str(o) for o in raw.get("options") or ()),
        rubric=tuple(str(c) for c in raw.get("rubric") or ()),
    )


def player_view(activity: dict[str, Any]) -> PlayerView:
    """What the player page shows of one activity (``activity_for_player``'s dict)."""
    kind = str(activity["kind"])
    url = activity.get("url")
    return PlayerView(
        key=str(activity["key"]),
        title=str(activity["title"]),
        kind=kind,
        kind_label=KIND_LABELS.get(kind, kind.replace("_", " ").capitalize()),
        minutes=max(round(float(activity.get("minutes") or 0)), 1),
        body_html=str(render_markdown(str(activity.get("markdown", "")))),
        questions=tuple(
            _question(i, q) for i, q in enumerate(activity.get("questions", []))
        ),
        # Only an external resource's url is the learner's to open; for any other
        # kind it is the activity's xAPI identity and may not be a page at all. The
        # import checks it is https; content stored some other way is held to it too.
        open_url=str(url)
        if kind in URL_TYPES and str(url or "").startswith("https://")
        else None,
        xapi=kind == XAPI_KIND,
    )


def render_player(ctx: LaunchContext, token: str, key: str) -> str:
    """The player page for one activity of the launch's module (learners only)."""
    if ctx.role != ROLE_LEARNER:
        raise LaunchRejected(
            "learner_only", "The activity player is for the learners of a course.", 403
        )
    activity = activity_for_player(request_session(), ctx, key=key)
    return render_template(
        "activity.html", view=player_view(activity), lt=token, path_url=PATH_PAGE
    )
