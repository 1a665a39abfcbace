"""The manager's pages in a real headless Chromium, inside the LMS frame, with axe-core.

The tool runs as in `pathwise demo` (the fixtures of tests/browser_support.py): a learner
launches, then the instructor opens capability, a learner's review, and marks the
path reviewed with the keyboard alone, at desktop width and at 375 px.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser_support import axe_violations as _axe_violations
from tests.browser_support import launch_in_lms as _launch
from tests.browser_support import shot as _shot

# The demo install and the Chromium tab (`demo_url`, `page`) are the e2e conftest's.
pytestmark = pytest.mark.browser


def _tool(page: Any) -> Any:
    tool = page.frame(name="tool-frame")
    assert tool is not None
    return tool


def _fits(tool: Any) -> bool:
    return bool(
        tool.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    )


@pytest.mark.parametrize("width", [1200, 375])
def test_manager_pages_are_accessible_in_the_lms_frame(
    page: Any, demo_url: str, width: int
) -> None:
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url))
    page.set_viewport_size({"width": width, "height": 900})
    _launch(page, demo_url, "learner")
    frame = _launch(page, demo_url, "instructor")

    frame.get_by_role("button", name="Capability and mentors").click()
    frame.locator("h1", has_text="Capability in").wait_for()
    tool = _tool(page)
    assert tool.url == demo_url + "/app/manage"
    assert frame.locator("[data-chart=capability] svg").count() >= 1
    assert frame.locator("[data-table=capability] tbody tr").count() >= 1
    _shot(page, f"manager-capability-{width}")
    assert _axe_violations(tool) == []
    assert _fits(tool)

    frame.get_by_role("button", name="Review Ada Lovelace's path").click()
    frame.locator("h1", has_text="Ada Lovelace").wait_for()
    assert frame.locator("[data-field=manager-reason]").inner_text().strip()
    _shot(page, f"manager-learner-{width}")
    assert _axe_violations(tool) == []
    assert _fits(tool)

    # Keyboard only: type the note, Tab to the button, Enter.
    frame.get_by_label("What you reviewed (required)").focus()
    page.keyboard.type("Checked with Ada: placement first")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")

    frame.locator("[data-field=done]").wait_for()
    listed = frame.locator("[data-kind=reviewed]")
    assert "Checked with Ada: placement first" in listed.inner_text()
    assert "Grace Hopper" in listed.inner_text()
    # Post/Redirect/Get: the page's address is its plain URL, never the token.
    assert tool.url.startswith(demo_url + "/app/manage/learner/")
    assert "?" not in tool.url
    assert [u for u in seen if "lt=" in u] == []
    assert _axe_violations(tool) == []
    assert _fits(tool)
