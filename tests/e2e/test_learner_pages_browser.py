"""The learner's placement and path pages in headless Chromium, with axe-core.

The tool runs as in `pathwise demo` (demo catalogue, development LMS); every launch
is signed for real. Each page is checked inside the LMS iframe and in a new window at
phone width (375 px), by keyboard, and saved as a screenshot (the path is printed).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from adaptive.models import Activity, Module, ModuleActivity, RoleTarget, Skill
from lti_tool.infra import revision
from lti_tool.infra.db import session_scope
from tests.browser_support import axe_violations

DEMO_CATALOGUE = Path(__file__).parents[2] / "lti_tool" / "demo" / "ai_readiness.json"
PHONE = {"width": 375, "height": 812}

pytestmark = pytest.mark.browser


def right_answers() -> dict[str, int]:
    """Prompt -> the right option of every question in the demo catalogue."""
    doc = json.loads(DEMO_CATALOGUE.read_text())
    return {
        q["prompt"]: q["answer"]
        for a in doc["activities"]
        for q in (a.get("content") or {}).get("questions", [])
        if isinstance(q.get("answer"), int)
    }


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where this test's screenshots go (PATHWISE_SCREENSHOTS, else pytest's tmp dir)."""
    root = Path(os.environ.get("PATHWISE_SCREENSHOTS") or tmp_path / "screenshots")
    root.mkdir(parents=True, exist_ok=True)
    print(f"screenshots: {root}")  # noqa: T201 - the artefacts' path, for the reader
    return root


def shoot(target: Any, shots: Path, name: str) -> None:
    target.screenshot(path=str(shots / f"{name}.png"), full_page=True)


def no_serious_violations(frame: Any, where: str) -> None:
    violations = axe_violations(frame)
    assert violations == [], (where, [(v["id"], v["help"]) for v in violations])


def fits_the_width(frame: Any) -> None:
    """Nothing wider than the viewport: no sideways scrolling on a phone."""
    overflow = frame.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, overflow


def answer_by_keyboard(tab: Any, frame: Any, option: int) -> None:
    """Pick option ``option`` with the arrow keys and submit it with Enter."""
    first = frame.locator("input[name=answer]").first
    first.focus()
    tab.keyboard.press("Space")
    for _ in range(option):
        tab.keyboard.press("ArrowDown")
    assert frame.locator("input[name=answer]:checked").get_attribute("value") == str(
        option
    )
    tab.keyboard.press("Enter")


def take_the_check(tab: Any, frame: Any, shots: Path, tag: str) -> str:
    """Start the check by keyboard and answer every question right; the summary text."""
    answers = right_answers()
    start = frame.get_by_role("button", name="Start the check")
    start.focus()
    tab.keyboard.press("Enter")
    asked = 0
    while True:
        frame.locator(
            "[data-placement][data-state=question], [data-state=done]"
        ).first.wait_for()
        if frame.locator("[data-placement][data-state=done]").count():
            break
        asked += 1
        progress = frame.locator("#placement-progress")
        progress.filter(has_text=f"Question {asked} of at most 8").wait_for()
        if asked == 1:
            # Every option is a labelled radio: a screen reader names each one.
            prompt_text = frame.locator("#placement-prompt").inner_text().strip()
            assert frame.get_by_role("group", name=prompt_text).count() == 1
            for option in frame.locator("input[name=answer]").all():
                assert frame.locator(
                    f"label[for='{option.get_attribute('id')}']"
                ).inner_text()
            shoot(tab, shots, f"{tag}-placement-question")
            no_serious_violations(tool_frame(tab), f"{tag} placement question")
        prompt = frame.locator("#placement-prompt").inner_text().strip()
        answer_by_keyboard(tab, frame, answers[prompt])
        frame.locator(
            f"#placement-progress:has-text('Question {asked + 1} of'), "
            "[data-placement][data-state=done]"
        ).first.wait_for()
    summary = frame.locator("[data-field=summary]").inner_text()
    assert summary
    return summary


def tool_frame(tab: Any) -> Any:
    tool = tab.frame(name="tool-frame")
    assert tool is not None
    return tool


def launch_in_frame(page: Any, demo_url: str) -> Any:
    page.goto(demo_url + "/dev-platform/")
    page.check("input[name=user][value=learner]")
    page.click("button[name=mode][value=launch]:not([formtarget])")
    frame = page.frame_locator("iframe[name=tool-frame]")
    frame.locator("main h1").wait_for()
    return frame


@pytest.mark.parametrize("width", [1200, 375], ids=["desktop", "phone"])
def test_placement_then_path_inside_the_lms_frame_by_keyboard(
    page: Any,
    demo_url: str,
    shots: Path,
    width: int,
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    tag = f"frame-{width}"
    frame = launch_in_frame(page, demo_url)
    assert "Ada Lovelace" in frame.locator("main h1").inner_text()
    assert tool_frame(page).url == demo_url + "/app/placement"
    shoot(page, shots, f"{tag}-placement-intro")
    no_serious_violations(tool_frame(page), f"{tag} placement intro")

    summary = take_the_check(page, frame, shots, tag)
    shoot(page, shots, f"{tag}-placement-summary")
    no_serious_violations(tool_frame(page), f"{tag} placement summary")
    assert summary.startswith(("You already show", "The check found no skill"))

    see_path = frame.get_by_role("button", name="See your path")
    see_path.focus()
    page.keyboard.press("Enter")
    frame.locator("[data-path-state]").wait_for()
    assert tool_frame(page).url == demo_url + "/app/path"
    skills = frame.locator("figure.skill-chart")
    assert skills.count() >= 1
    assert "likely you are there" in skills.first.locator("figcaption").inner_text()
    reasons = frame.locator("ol.path [data-field=reason]").all_inner_texts()
    assert reasons and all(r.strip() for r in reasons)
    # Placement answers are evidence: some skill's reason names the placement data.
    assert frame.locator("ol.path li[data-source=placement]").count() >= 1
    assert frame.locator("[data-next-step] [data-field=why]").inner_text().strip()
    assert frame.get_by_role("button", name="Start “").count() == 1
    shoot(page, shots, f"{tag}-path")
    no_serious_violations(tool_frame(page), f"{tag} path")
    if width == 375:
        fits_the_width(tool_frame(page))

    # The time budget, by keyboard: the page comes back with the step that fits.
    frame.locator("#budget-10").focus()
    page.keyboard.press("Space")
    frame.get_by_role("button", name="Fit my next step to this").focus()
    with page.expect_request(
        lambda r: r.url.endswith("/app/path") and r.method == "POST"
    ):
        page.keyboard.press("Enter")
    frame.locator("#budget-status", has_text="Set to 10 minutes").wait_for()
    assert frame.locator("#budget-10").is_checked()
    shoot(page, shots, f"{tag}-path-budget")


def test_a_new_window_at_phone_width_skips_the_check(
    page: Any,
    demo_url: str,
    shots: Path,
) -> None:
    page.set_viewport_size(PHONE)
    page.goto(demo_url + "/dev-platform/")
    page.check("input[name=user][value=learner]")
    with page.context.expect_page() as opened:
        page.click("button[name=mode][value=launch][formtarget=_blank]")
    window = opened.value
    window.set_viewport_size(PHONE)
    window.wait_for_url(demo_url + "/app/placement")
    window.locator("[data-placement]").wait_for()
    fits_the_width(window.main_frame)
    no_serious_violations(window.main_frame, "window placement intro")

    window.get_by_role("button", name="Start from the beginning").click()
    summary = window.locator("[data-field=summary]")
    summary.filter(has_text="start from the beginning").wait_for()
    assert window.locator("#summary-heading").evaluate(
        "el => document.activeElement === el"
    )
    shoot(window, shots, "window-375-placement-skipped")
    no_serious_violations(window.main_frame, "window placement skipped")

    window.get_by_role("button", name="See your path").click()
    window.locator("[data-path-state]").wait_for()
    fits_the_width(window.main_frame)
    shoot(window, shots, "window-375-path")
    no_serious_violations(window.main_frame, "window path")
    # A reload of the path page re-posts the tab's token: same page, no token in URL.
    window.reload()
    window.locator("[data-path-state]").wait_for()
    window.wait_for_url(demo_url + "/app/path")
    # The next launch goes straight to the path: the check was skipped.
    page.set_viewport_size({"width": 1200, "height": 900})
    frame = launch_in_frame(page, demo_url)
    frame.locator("[data-path-state]").wait_for()


def test_a_blocked_path_and_the_instructors_defect_are_accessible(
    page: Any,
    demo_url: str,
    shots: Path,
) -> None:
    """The demo module loses its content: the learner is told plainly, the
    instructor sees which skill lacks what."""
    with session_scope() as session:
        module = session.scalars(select(Module)).first()
        assert module is not None
        for link in session.scalars(
            select(ModuleActivity).where(ModuleActivity.module_id == module.id)
        ):
            session.delete(link)
        for activity in session.scalars(
            select(Activity).where(Activity.framework_id == module.framework_id)
        ):
            session.delete(activity)
        revision.bump(session, {revision.CATALOGUE})
    page.set_viewport_size(PHONE)
    frame = launch_in_frame(page, demo_url)
    end = frame.locator("[data-end=blocked]")
    end.wait_for()
    assert "Your path is paused" in end.inner_text()
    shoot(page, shots, "frame-375-path-blocked")
    no_serious_violations(tool_frame(page), "blocked path")

    page.set_viewport_size({"width": 1200, "height": 900})
    page.goto(demo_url + "/dev-platform/")
    page.check("input[name=user][value=instructor]")
    page.click("button[name=mode][value=launch]:not([formtarget])")
    manager = page.frame_locator("iframe[name=tool-frame]")
    blocked = manager.locator("[data-blocked]")
    blocked.wait_for()
    assert "Ada Lovelace" in blocked.inner_text()
    assert "no assessment" in blocked.locator("[data-field=defect]").first.inner_text()
    shoot(page, shots, "frame-manager-blocked")
    no_serious_violations(tool_frame(page), "manager page with a blocked path")


def test_the_end_of_the_path_is_accessible(
    page: Any,
    demo_url: str,
    shots: Path,
) -> None:
    """The demo role narrowed to one skill at its first level; the learner passes its
    checks through the page's own API client, and the path page says it is done."""
    with session_scope() as session:
        module = session.scalars(select(Module)).first()
        assert module is not None and module.default_role_id is not None
        targets = session.scalars(
            select(RoleTarget).where(RoleTarget.role_id == module.default_role_id)
        ).all()
        foundations = session.scalars(
            select(Skill.id).where(Skill.key == "genai-foundations")
        ).one()
        keep = next(t for t in targets if t.skill_id == foundations)
        for target in targets:
            if target is not keep:
                session.delete(target)
        keep.target_level = 1
        revision.bump(session, {revision.CATALOGUE})
    answers = {
        # A scenario has no key: None is its unanswered (and acceptable) response.
        a["key"]: [
            q.get("answer") for q in (a.get("content") or {}).get("questions", [])
        ]
        for a in json.loads(DEMO_CATALOGUE.read_text())["activities"]
    }
    page.set_viewport_size(PHONE)
    frame = launch_in_frame(page, demo_url)
    frame.get_by_role("button", name="Start from the beginning").click()
    frame.get_by_role("button", name="See your path").click()
    for _ in range(12):
        frame.locator("[data-path-state]").wait_for()
        if frame.locator("[data-end=targets_met]").count():
            break
        title = frame.locator(
            "[data-next-step] [data-field=next-activity]"
        ).inner_text()
        key = next(
            a["key"]
            for a in json.loads(DEMO_CATALOGUE.read_text())["activities"]
            if a["title"] == title
        )
        status = tool_frame(page).evaluate(
            """async ([key, responses]) => (await Pathwise.api("POST", "/api/v1/attempts",
                {client_id: Pathwise.uuid4(), activity_key: key, responses: responses})).status""",
            [key, answers[key]],
        )
        assert status == 200
        # The new document, not the old page that still answers until it loads.
        with tool_frame(page).expect_navigation(wait_until="load"):
            tool_frame(page).evaluate("Pathwise.go('/app/path')")
    end = frame.locator("[data-end=targets_met]")
    end.wait_for()
    assert "You have reached the level your role needs" in end.inner_text()
    assert (
        end.locator("[data-field=refresher-plan] li")
        .first.inner_text()
        .startswith("Next refresher on ")
    )
    shoot(page, shots, "frame-375-path-targets-met")
    no_serious_violations(tool_frame(page), "targets met")
