"""The activity player in a real headless Chromium, inside the LMS frame, with axe-core.

Launched for real through the development LMS (as in `pathwise demo`), then opened the
way the learner's pages open each other (``Pathwise.go``: a POST carrying the token).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from adaptive.models import Activity, Attempt
from lti_tool.infra.db import session_scope
from tests.browser_support import axe_violations, launch_in_lms, shot

pytestmark = pytest.mark.browser

DEMO = json.loads(
    (Path(__file__).parents[2] / "lti_tool/demo/ai_readiness.json").read_text()
)
# One activity of every type the player shows, and every question type.
EACH_TYPE = (
    "foundations-what-llms-do",  # lesson
    "foundations-autocomplete-example",  # worked example
    "foundations-quiz",  # quiz, single choice
    "prompting-quick-check",  # quiz, multiple choice and short answers
    "safe-use-scenario-client-list",  # scenario with a self-assessment rubric
    "foundations-video-llms-briefly",  # video
    "prompting-guide-link",  # link
)


def _activity(key: str) -> dict[str, Any]:
    return next(a for a in DEMO["activities"] if a["key"] == key)


def _open(tool: Any, key: str) -> None:
    """Open a player page as another learner page would (no token in any URL)."""
    with tool.expect_navigation():
        tool.evaluate("key => window.Pathwise.go('/app/activity/' + key)", key)
    tool.locator("h1").wait_for()
    assert tool.locator("h1").inner_text() == _activity(key)["title"]


def _tool(page: Any, demo_url: str) -> Any:
    launch_in_lms(page, demo_url, "learner")
    tool = page.frame(name="tool-frame")
    assert tool is not None
    # The launch's own landing page first: a navigation started before it has
    # loaded (and defined window.Pathwise) would race it.
    tool.wait_for_load_state("load")
    tool.wait_for_function("() => window.Pathwise && window.Pathwise.go")
    return tool


def _attempts(key: str) -> int:
    with session_scope() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Attempt)
                .join(Activity, Activity.id == Attempt.activity_id)
                .where(Activity.key == key)
            )
            or 0
        )


def test_the_player_is_accessible_in_every_activity_type(
    page: Any, demo_url: str
) -> None:
    tool = _tool(page, demo_url)
    # The path page's next step opens in the player (the landing page is the
    # placement check, which the path page follows).
    with tool.expect_navigation():
        tool.evaluate("window.Pathwise.go('/app/path')")
    title = tool.locator('[data-field="next-activity"]').inner_text()
    with tool.expect_navigation():
        tool.get_by_role("button", name=f"Start “{title}”").click()
    tool.locator("h1").wait_for()
    assert tool.locator("h1").inner_text() == title
    for key in EACH_TYPE:
        _open(tool, key)
        assert tool.url == f"{demo_url}/app/activity/{key}"
        assert axe_violations(tool) == [], key
        shot(page, f"player-{key}")
    # At phone width, inside the LMS frame, nothing scrolls sideways.
    page.set_viewport_size({"width": 375, "height": 800})
    for key in ("prompting-quick-check", "safe-use-scenario-client-list"):
        _open(tool, key)
        assert tool.evaluate(
            "document.documentElement.scrollWidth <= window.innerWidth"
        ), key
        assert axe_violations(tool) == [], key
        shot(page, f"player-375-{key}")


def test_a_wrong_answer_gets_feedback_and_a_different_explanation(
    page: Any, demo_url: str
) -> None:
    tool = _tool(page, demo_url)
    lesson = "foundations-what-llms-do"
    _open(tool, lesson)
    tool.click('[data-action="submit-attempt"]')
    tool.locator("[data-next-step]").wait_for()
    assert tool.locator('[data-field="why"]').inner_text().strip()

    quiz = "foundations-quiz"
    _open(tool, quiz)
    questions = _activity(quiz)["content"]["questions"]
    # Keyboard only: the arrow keys move within a question's radio group and check
    # the option they land on, as for any radio group.
    for i, question in enumerate(questions):
        wrong = (question["answer"] + 1) % len(question["options"])
        tool.focus(f"#q{i}-o0")
        if wrong == 0:
            page.keyboard.press("Space")
        for _ in range(wrong):
            page.keyboard.press("ArrowDown")
        assert tool.is_checked(f"#q{i}-o{wrong}"), (i, wrong)
    # A double click sends one attempt: one client id, and the button waits.
    tool.dblclick('[data-action="submit-attempt"]')
    tool.locator("[data-next-step]").wait_for()
    feedback = tool.locator('[data-field="feedback"]')
    assert feedback.count() == len(questions)
    for i, question in enumerate(questions):
        text = feedback.nth(i).inner_text()
        assert text.startswith("Not quite."), text
        assert question["explanation"][:40] in text
    assert _attempts(quiz) == 1
    next_step = tool.locator("[data-next-step]")
    assert next_step.get_attribute("data-reason-code") == "remediate_alternative"
    why = tool.locator('[data-field="why"]').inner_text()
    # The reason names the skill and why: the check was not passed.
    assert why.startswith("A different explanation of "), why
    assert why.endswith("your last check on it was not passed."), why
    title = tool.locator('[data-field="next-title"]').inner_text()
    assert title not in (_activity(lesson)["title"], _activity(quiz)["title"])
    assert axe_violations(tool) == []
    shot(page, "player-feedback-wrong")
    with tool.expect_navigation():
        tool.click('[data-action="continue"]')
    tool.locator("h1").wait_for()
    assert tool.locator("h1").inner_text() == title


def test_right_answers_of_every_kind_are_marked_right(page: Any, demo_url: str) -> None:
    tool = _tool(page, demo_url)
    _open(tool, "prompting-quick-check")
    tool.click('[data-action="submit-attempt"]')
    # Nothing answered yet: a clear message, focus on the first question, no attempt.
    assert "question 1" in tool.locator('[data-field="error"]').inner_text()
    assert _attempts("prompting-quick-check") == 0
    for option in (0, 1, 3):
        tool.check(f"#q0-o{option}")
    tool.fill("#q1-text", "  Reply ")
    tool.fill("#q2-text", "3.0")
    tool.click('[data-action="submit-attempt"]')
    tool.locator("[data-next-step]").wait_for()
    verdicts = tool.locator('[data-field="feedback"] strong').all_inner_texts()
    assert verdicts == ["Right.", "Right.", "Right."]
    assert "3 of 3" in tool.locator('[data-field="score"]').inner_text()
    # Answers stay visible, and can no longer be changed.
    assert tool.is_checked("#q0-o3") and tool.is_disabled("#q1-text")
    assert axe_violations(tool) == []

    _open(tool, "safe-use-scenario-client-list")
    tool.fill("#q0-text", "Let's delete that chat and use the approved assistant.")
    tool.check("#q0-c0")
    tool.click('[data-action="submit-attempt"]')
    tool.locator("[data-next-step]").wait_for()
    text = tool.locator('[data-field="feedback"]').inner_text()
    assert text.startswith("Compare your response with this:")
    assert _attempts("safe-use-scenario-client-list") == 1
    assert axe_violations(tool) == []
    shot(page, "player-scenario-feedback")
