"""Learner and instructor journeys in a real headless Chromium, with an axe-core check.

The tool runs as in `pathwise demo`: demo catalogue, the development LMS enabled,
launches signed for real and shown in the LMS page's iframe (``tests/browser_support``).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser_support import axe_violations, launch_in_lms, shot

pytestmark = pytest.mark.browser


def test_learner_launch_shows_their_page_in_the_lms_frame(
    page: Any, demo_url: str
) -> None:
    frame = launch_in_lms(page, demo_url, "learner")
    assert "Ada Lovelace" in frame.locator("main h1").inner_text()
    module = frame.locator("[data-field=module]").inner_text()
    assert module and "Not chosen" not in module
    # A new learner starts with the module's placement check (one question at a
    # time, or "start from the beginning").
    assert frame.locator("[data-placement]").count() == 1
    assert frame.get_by_role("button", name="Start from the beginning").count() == 1
    shot(page, "learner-in-lms")
    tool = page.frame(name="tool-frame")
    assert tool is not None
    # A reload must be a GET of the page, never a replay of the id_token POST, and
    # no address ever carries the launch token.
    assert tool.url == demo_url + "/app/placement"
    assert axe_violations(tool) == []


def test_instructor_launch_shows_the_manager_page(page: Any, demo_url: str) -> None:
    frame = launch_in_lms(page, demo_url, "instructor")
    assert frame.locator("#cohort").count() == 1
    shot(page, "manager-in-lms")
    tool = page.frame(name="tool-frame")
    assert tool is not None
    assert axe_violations(tool) == []


def test_launch_through_lti_platform_storage(page: Any, demo_url: str) -> None:
    """Canvas-style: state kept in the LMS's storage frame via postMessage."""
    frame = launch_in_lms(page, demo_url, "learner", storage=True)
    assert "Ada Lovelace" in frame.locator("main h1").inner_text()


def test_console_sign_in_page_is_accessible(page: Any, demo_url: str) -> None:
    page.goto(demo_url + "/admin/login")
    assert page.locator("h1").inner_text().startswith("Sign in")
    assert axe_violations(page.main_frame) == []


def _reload_frame(page: Any, frame: Any, ready: str) -> Any:
    """Reload the tool's frame as a learner would (F5 inside it) and wait for ``ready``."""
    tool = page.frame(name="tool-frame")
    assert tool is not None
    with page.expect_request(lambda r: r.method == "POST" and "/app/" in r.url):
        tool.evaluate("window.location.reload()")
    frame.locator(ready).wait_for()
    return tool


@pytest.mark.parametrize(
    ("user", "ready"), [("learner", "#welcome"), ("instructor", "#cohort")]
)
def test_a_reload_reopens_the_page_and_no_address_carries_the_token(
    page: Any, demo_url: str, user: str, ready: str
) -> None:
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url))
    frame = launch_in_lms(page, demo_url, user)
    frame.locator(ready).wait_for()
    tool = _reload_frame(page, frame, ready)
    # The learner's landing page is the placement check (/app/placement).
    assert tool.url == demo_url + (
        "/app/placement" if user == "learner" else "/app/home"
    )
    _reload_frame(page, frame, ready)
    assert frame.locator(ready).count() == 1
    assert [u for u in seen if "lt=" in u] == []


def test_a_new_tab_without_a_launch_asks_to_reopen_from_the_course(
    page: Any, demo_url: str
) -> None:
    page.goto(demo_url + "/app/home")
    message = page.locator("#no-token")
    message.wait_for()
    assert "open Pathwise again from your course" in message.inner_text()


def _deep_link_picker(page: Any, demo_url: str) -> Any:
    page.goto(demo_url + "/dev-platform/")
    page.check("input[name=user][value=instructor]")
    page.click("button[name=mode][value=deep_link]")
    frame = page.frame_locator("iframe[name=tool-frame]")
    frame.locator("main h1").wait_for()
    assert "Add an adaptive module" in frame.locator("main h1").inner_text()
    return frame


def test_instructor_deep_links_a_module_inside_the_lms_frame(
    page: Any, demo_url: str
) -> None:
    """The picker's POST comes from the frame itself: same-origin, no cookie needed."""
    frame = _deep_link_picker(page, demo_url)

    frame.locator("button[type=submit]").click()

    frame.locator("h1", has_text="Content added to the course").wait_for()
    assert frame.locator("[data-items]").get_attribute("data-items") == "1"


def test_a_page_elsewhere_cannot_post_a_selection_through_the_browser(
    page: Any, demo_url: str
) -> None:
    """Finding 1: another site auto-posts launch and picker tokens to the picker."""
    frame = _deep_link_picker(page, demo_url)
    fields = {
        name: frame.locator(f"input[name={name}]").input_value()
        for name in ("lt", "picker_token")
    }
    module = frame.locator("input[name=module_id]").first.input_value()
    inputs = "".join(
        f'<input type="hidden" name="{name}" value="{value}">'
        for name, value in {**fields, "module_id": module}.items()
    )
    attacker = "http://attacker.test/"
    page.context.route(
        attacker,
        lambda route: route.fulfill(
            content_type="text/html",
            body=(
                f'<form id="f" method="post" action="{demo_url}/app/deep-link">'
                f"{inputs}</form><script>document.getElementById('f').submit()"
                "</script>"
            ),
        ),
    )
    attack = page.context.new_page()

    attack.goto(attacker)
    attack.wait_for_url(demo_url + "/app/deep-link")

    assert attack.locator("[data-reason]").get_attribute("data-reason") == (
        "cross_site_request"
    )
    # The instructor's own selection in the LMS frame is untouched and still works.
    frame.locator("button[type=submit]").click()
    frame.locator("h1", has_text="Content added to the course").wait_for()


def test_manager_page_shows_each_learners_grade_and_a_retry_button(
    page: Any, demo_url: str
) -> None:
    # The learner's launch sends their progress to the demo LMS's gradebook (AGS).
    launch_in_lms(page, demo_url, "learner")
    frame = launch_in_lms(page, demo_url, "instructor")
    row = frame.locator("tr", has_text="Ada Lovelace")
    assert row.locator("[data-grade-state=sent]").count() == 1
    assert (
        row.get_by_role("button", name="Send Ada Lovelace's grade again").count() == 1
    )
    shot(page, "manager-grades-in-lms")
    tool = page.frame(name="tool-frame")
    assert tool is not None
    assert axe_violations(tool) == []
