"""Integration: what the player page shows of an activity (``lti_tool.web.player``).

``activity_for_player`` is covered after real launches in ``tests/e2e/test_player.py``;
here its output is given directly, for kinds the demo catalogue has no activity of.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, render_template

from lti_tool.web.player import PATH_PAGE, player_view


def activity(**overrides: Any) -> dict[str, Any]:
    return {
        "key": "a-1",
        "title": "An activity",
        "kind": "lesson",
        "minutes": 4.6,
        "url": None,
        "markdown": "Read **this**. <script>alert(1)</script>",
        "questions": [],
        **overrides,
    }


def render(app: Flask, data: dict[str, Any]) -> str:
    with app.test_request_context("/app/activity/a-1", method="POST"):
        return render_template(
            "activity.html", view=player_view(data), lt="tok", path_url=PATH_PAGE
        )


def test_the_body_is_sanitised_markdown(app: Flask) -> None:
    html = render(app, activity())
    assert "<strong>this</strong>" in html
    assert "<script>alert" not in html
    assert "I have finished" in html and "about 5 minutes" in html


def test_an_xapi_activity_gets_an_open_button_that_asks_the_api(app: Flask) -> None:
    html = render(app, activity(kind="xapi", url="https://lrs.example/launch"))
    assert 'data-action="open-xapi"' in html
    # Its url is opened through the API's launch (with the learner's actor), never
    # as a plain link.
    assert 'href="https://lrs.example/launch"' not in html


def test_only_an_https_video_or_link_is_offered_to_open(app: Flask) -> None:
    video = render(app, activity(kind="video", url="https://v.example/1"))
    assert 'href="https://v.example/1"' in video
    for kind, url in (
        ("video", "javascript:alert(1)"),
        ("lesson", "https://x.example"),
    ):
        html = render(app, activity(kind=kind, url=url))
        assert 'data-action="open-resource"' not in html, (kind, url)


def test_an_unknown_question_type_is_still_answerable(app: Flask) -> None:
    data = activity(kind="quiz", questions=[{"type": "essay", "prompt": "Why?"}])
    view = player_view(data)
    assert view.questions[0].type == "short"
    assert 'id="q0-text"' in render(app, data)
