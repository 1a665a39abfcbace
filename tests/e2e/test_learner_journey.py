"""A learner's whole journey in headless Chromium, from a real signed launch.

The tool runs as in `pathwise demo` (demo catalogue; the development LMS inside the
tool, with its AGS endpoint and Moodle's rules), with the strict real LRS
(Learning Locker's xapi-statements) as the tenant's LRS. The learner:

1. lands on the placement check in the LMS frame and answers it by keyboard;
2. opens the path page and the next step;
3. takes three activities: the check quiz on a skill and its confirmation, both
   right (the skill is then skipped as mastered), and the next skill's check,
   all wrong, which brings a different explanation;
4. sees on the path page why, and the grade arrives at the LMS's AGS endpoint and
   every statement at the LRS.

The activities run in the activity player (``/app/activity/<key>``, helper
``player``), driven through its markup contract. Where the player is not in this
build, ``test_the_journey_through_the_page_api`` takes the same three attempts through
the pages' own API client (``Pathwise.api``, the calls the player makes), so
everything around the player stays verified; the player variant is skipped.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select

from lti_tool.devplatform.views import EXTENSION as DEV_PLATFORM
from lti_tool.infra.db import session_scope
from lti_tool.infra.models import Deployment
from tests.browser_support import DemoInstall, axe_violations
from tests.lrs_fixture import LocalLrs, lrs  # noqa: F401 - fixture
from xapi import connections
from xapi.jobs import send_pending_statements
from xapi.models import OUTBOX_DELIVERED, OutboxStatement

DEMO_CATALOGUE = Path(__file__).parents[2] / "lti_tool" / "demo" / "ai_readiness.json"
LEARNER_SUB = "dev-user-ada"

pytestmark = pytest.mark.browser


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    root = Path(os.environ.get("PATHWISE_SCREENSHOTS") or tmp_path / "screenshots")
    root.mkdir(parents=True, exist_ok=True)
    print(f"screenshots: {root}")  # noqa: T201 - the artefacts' path, for the reader
    return root


def questions_of(key: str) -> list[dict[str, Any]]:
    doc = json.loads(DEMO_CATALOGUE.read_text())
    [activity] = [a for a in doc["activities"] if a["key"] == key]
    return list((activity.get("content") or {}).get("questions", []))


def right_answers(key: str) -> list[Any]:
    return [q["answer"] for q in questions_of(key)]


def wrong_answers(key: str) -> list[Any]:
    return [(q["answer"] + 1) % len(q["options"]) for q in questions_of(key)]


def placement_answers() -> dict[str, int]:
    doc = json.loads(DEMO_CATALOGUE.read_text())
    return {
        q["prompt"]: q["answer"]
        for a in doc["activities"]
        for q in (a.get("content") or {}).get("questions", [])
        if isinstance(q.get("answer"), int)
    }


def tool(page: Any) -> Any:
    frame = page.frame(name="tool-frame")
    assert frame is not None
    return frame


def clean(page: Any, where: str) -> None:
    violations = axe_violations(tool(page))
    assert violations == [], (where, [(v["id"], v["help"]) for v in violations])


def connect_the_lrs(demo: DemoInstall, lrs: LocalLrs) -> None:  # noqa: F811
    with session_scope() as session:
        [tenant] = session.scalars(select(Deployment)).all()
        connections.add_connection(
            session,
            tenant_id=tenant.id,
            name="Company LRS",
            endpoint=lrs.endpoint,
            username="pathwise",
            password="secret",
            actor="test",
        )


def launch(page: Any, demo: DemoInstall, user: str = "learner") -> Any:
    page.goto(demo.url + "/dev-platform/")
    page.check(f"input[name=user][value={user}]")
    page.click("button[name=mode][value=launch]:not([formtarget])")
    frame = page.frame_locator("iframe[name=tool-frame]")
    frame.locator("main h1").wait_for()
    return frame


def take_the_placement_check(page: Any, frame: Any, shots: Path) -> None:
    answers = placement_answers()
    frame.get_by_role("button", name="Start the check").focus()
    page.keyboard.press("Enter")
    asked = 0
    while True:
        frame.locator(
            "[data-placement][data-state=question], [data-placement][data-state=done]"
        ).first.wait_for()
        if frame.locator("[data-placement][data-state=done]").count():
            break
        asked += 1
        frame.locator(
            "#placement-progress", has_text=f"Question {asked} of at most 8"
        ).wait_for()
        if asked == 1:
            page.screenshot(path=str(shots / "1-placement-question.png"))
            clean(page, "placement question")
        prompt = frame.locator("#placement-prompt").inner_text().strip()
        choice = frame.locator(f"input[name=answer][value='{answers[prompt]}']")
        choice.focus()
        page.keyboard.press("Space")
        page.keyboard.press("Enter")
        frame.locator(
            f"#placement-progress:has-text('Question {asked + 1} of'), "
            "[data-placement][data-state=done]"
        ).first.wait_for()
    assert asked >= 1
    page.screenshot(path=str(shots / "2-placement-summary.png"))
    clean(page, "placement summary")


def open_the_path(page: Any, frame: Any) -> None:
    frame.get_by_role("button", name="See your path").click()
    frame.locator("[data-path-state]").wait_for()


def next_step(frame: Any) -> tuple[str, str]:
    """The path page's next step: its activity title and reason code."""
    section = frame.locator("[data-next-step]")
    return (
        section.locator("[data-field=next-activity]").inner_text(),
        section.get_attribute("data-reason-code") or "",
    )


def activity_key_by_title(title: str) -> str:
    doc = json.loads(DEMO_CATALOGUE.read_text())
    return next(a["key"] for a in doc["activities"] if a["title"] == title)


# ------------------------------------------------- the two ways to do an activity


def play_in_the_player(
    page: Any, frame: Any, key: str, answers: list[Any], shots: Path, n: int
) -> str:
    """Open the next step in the player, answer, submit; the reason shown for what next."""
    title, _ = next_step(frame)
    frame.get_by_role("button", name=f"Start “{title}”").click()
    frame.locator("h1", has_text=title).wait_for()
    tool(page).wait_for_url(f"**/app/activity/{key}")
    for i, answer in enumerate(answers):
        question = frame.locator(f"fieldset[data-question='{i}']")
        assert question.locator("legend").inner_text().strip()
        question.locator(f"input[value='{answer}']").check()
    page.screenshot(path=str(shots / f"{n}-activity-{key}.png"))
    clean(page, f"player {key}")
    frame.locator("[data-action=submit-attempt]").click()
    frame.locator("[data-next-step]").wait_for()
    assert frame.locator("[data-field=feedback]").count() == len(answers)
    why = frame.locator("[data-next-step] [data-field=why]").inner_text()
    page.screenshot(path=str(shots / f"{n}-activity-{key}-feedback.png"))
    clean(page, f"player {key} feedback")
    # "Continue" opens the next activity (or the path page): wait for that page.
    # Wait for the new document itself: until it has loaded, the old page (without
    # the next page's scripts) still answers locators and evaluations.
    with tool(page).expect_navigation(wait_until="load"):
        frame.locator("[data-action=continue]").click()
    frame.locator("main h1").wait_for()
    return str(why)


def play_through_the_page_api(
    page: Any, frame: Any, key: str, answers: list[Any], shots: Path, n: int
) -> str:
    """The player's own call, made by the path page's API client; then the path again."""
    answer = tool(page).evaluate(
        """async ([key, responses]) => {
            const id = Pathwise.uuid4();
            const body = {client_id: id, activity_key: key, responses: responses};
            const first = await Pathwise.api("POST", "/api/v1/attempts", body);
            const again = await Pathwise.api("POST", "/api/v1/attempts", body);
            return {first: first, again: again};
        }""",
        [key, answers],
    )
    assert answer["first"]["status"] == 200, answer
    # A double submission is the same attempt, recorded once.
    assert answer["again"]["data"] == answer["first"]["data"]
    open_path_again(page, frame)
    page.screenshot(path=str(shots / f"{n}-path-after-{key}.png"), full_page=True)
    return str(answer["first"]["data"]["next_step"]["reason"])


def has_player(demo: DemoInstall) -> bool:
    return any(
        r.rule.startswith("/app/activity/") for r in demo.app.url_map.iter_rules()
    )


# ------------------------------------------------------------------- the journey


def journey(
    page: Any,
    demo: DemoInstall,
    lrs: LocalLrs,  # noqa: F811 - pytest fixture
    shots: Path,
    play: Any,
) -> None:
    page.goto(demo.url + "/dev-platform/")  # the LMS registers the tool on first use
    connect_the_lrs(demo, lrs)
    frame = launch(page, demo)
    assert tool(page).url == demo.url + "/app/placement"
    page.screenshot(path=str(shots / "0-placement-intro.png"))
    clean(page, "placement intro")
    take_the_placement_check(page, frame, shots)
    open_the_path(page, frame)
    page.screenshot(path=str(shots / "3-path.png"), full_page=True)
    clean(page, "path")

    # 1 and 2: the check on the first skill, then its confirmation (as many takes
    # as the round's bar needs), all right.
    title, code = next_step(frame)
    first = activity_key_by_title(title)
    assert code in {"check_known", "check_mastery"}, code
    play(page, frame, first, right_answers(first), shots, 4)
    if not frame.locator("[data-path-state]").count():
        open_path_again(page, frame)
    for _ in range(3):
        title, _ = next_step(frame)
        if activity_key_by_title(title) != first:
            break
        play(page, frame, first, right_answers(first), shots, 5)
        if not frame.locator("[data-path-state]").count():
            open_path_again(page, frame)
    mastered = frame.locator("ol.path li[data-kind=skipped]")
    assert mastered.count() >= 1
    skipped_reason = mastered.first.locator("[data-field=reason]").inner_text()
    assert skipped_reason.startswith("skipped: you showed "), skipped_reason

    # 3: the next skill's check, all wrong: a different explanation comes next.
    title, _ = next_step(frame)
    third = activity_key_by_title(title)
    assert third != first
    why = play(page, frame, third, wrong_answers(third), shots, 6)
    assert why.strip()
    if not frame.locator("[data-path-state]").count():
        open_path_again(page, frame)
    _, code = next_step(frame)
    assert code == "remediate_alternative", code
    alternative = frame.locator("ol.path li[data-kind=alternative]")
    assert alternative.count() == 1
    assert (
        alternative.locator("[data-field=reason]")
        .inner_text()
        .startswith("a different explanation: the last answer on ")
    )
    page.screenshot(path=str(shots / "7-path-after-a-wrong-answer.png"), full_page=True)
    clean(page, "path after a wrong answer")

    grade_arrived_at_the_lms(demo)
    statements_arrived_at_the_lrs(lrs)

    # The instructor sees the grade went through.
    manager = launch(page, demo, "instructor")
    row = manager.locator("tr", has_text="Ada Lovelace")
    assert row.locator("[data-grade-state=sent]").count() == 1
    page.screenshot(path=str(shots / "8-manager.png"), full_page=True)


def open_path_again(page: Any, frame: Any) -> None:
    with tool(page).expect_navigation(wait_until="load"):
        tool(page).evaluate("Pathwise.go('/app/path')")
    frame.locator("[data-path-state]").wait_for()


def grade_arrived_at_the_lms(demo: DemoInstall) -> None:
    platform = demo.app.extensions[DEV_PLATFORM].get()
    mine = [s for s in platform.scores if s.user_id == LEARNER_SUB]
    assert mine, platform.scores
    # Moodle's rule, enforced by the development LMS: strictly increasing seconds.
    stamps = [s.timestamp_s for s in mine]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    last = mine[-1]
    assert last.grading_progress == "FullyGraded"
    assert last.score_given is not None and last.score_given > 0
    assert last.comment


def statements_arrived_at_the_lrs(lrs: LocalLrs) -> None:  # noqa: F811
    send_pending_statements()
    with session_scope() as session:
        sent = session.scalars(select(OutboxStatement)).all()
        by_verb = {s.verb for s in sent}
        undelivered = [
            (s.verb, s.status, s.last_error)
            for s in sent
            if s.status != OUTBOX_DELIVERED
        ]
        ids = [s.statement_id for s in sent]
    assert {"answered", "completed", "recommended", "passed", "failed"} <= by_verb
    assert undelivered == []
    for statement_id in ids:
        stored = requests.get(
            lrs.endpoint + "statements",
            params={"statementId": statement_id},
            headers={"X-Experience-API-Version": "1.0.3"},
            auth=("pathwise", "secret"),
            timeout=10,
        )
        assert stored.status_code == 200, stored.text
        assert stored.json()["context"]["registration"]


def test_the_journey_through_the_activity_player(
    page: Any,
    demo_install: DemoInstall,
    lrs: LocalLrs,  # noqa: F811 - pytest fixture
    shots: Path,
) -> None:
    if not has_player(demo_install):
        pytest.skip(
            "the activity player (/app/activity/<key>, helper player) is not in this "
            "build; test_the_journey_through_the_page_api covers the rest"
        )
    journey(page, demo_install, lrs, shots, play_in_the_player)


def test_the_journey_through_the_page_api(
    page: Any,
    demo_install: DemoInstall,
    lrs: LocalLrs,  # noqa: F811 - pytest fixture
    shots: Path,
) -> None:
    (shots / "page-api").mkdir(exist_ok=True)
    journey(page, demo_install, lrs, shots / "page-api", play_through_the_page_api)
