"""Placement questions of every answer type in headless Chromium, with axe-core.

The tool runs as in `pathwise demo`; a small catalogue whose placement check asks a
multiple-choice question (``"type": "multiple"``, answered by a list of option
indices) and a short-answer one (``"type": "short"``, answered by text) is imported
beside the demo's, and the development LMS gets a course link to its module. The
learner launches it for real, ticks two checkboxes (one by keyboard, one by mouse),
types the short answer, and reaches the placement summary. The API-level test of
the same catalogue is tests/integration/test_placement_question_types.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from adaptive.catalogue_import import import_catalogue
from adaptive.core.catalogue_parse import parse_catalogue
from adaptive.models import Module, PlacementSession
from lti_tool.devplatform.views import EXTENSION as DEV_PLATFORM
from lti_tool.devplatform.vocabulary import DEMO_COURSE_ID
from lti_tool.infra.db import session_scope
from tests.browser_support import DemoInstall, axe_violations, shot
from tests.placement_types_support import (
    MODULE_KEY,
    SEVERAL_ANSWER,
    SEVERAL_OPTIONS,
    SEVERAL_PROMPT,
    SHORT_PROMPT,
    placement_types_catalogue,
)

pytestmark = pytest.mark.browser

LINK_ID = "dev-link-placement-types"
ANSWERS_API = "/api/v1/placement/answers"


def _install_the_catalogue(demo: DemoInstall) -> None:
    with session_scope() as session:
        import_catalogue(
            session,
            doc=parse_catalogue(
                placement_types_catalogue(), source_name="placement-types.json"
            ),
            actor="test",
        )
        assert session.scalar(select(Module.id).where(Module.key == MODULE_KEY))
    platform = demo.app.extensions[DEV_PLATFORM].get()
    platform.add_link(
        DEMO_COURSE_ID,
        LINK_ID,
        "Placement types",
        custom={"pathwise_module": MODULE_KEY},
        with_lineitem=False,
    )


def _launch(page: Any, demo: DemoInstall) -> Any:
    page.goto(demo.url + "/dev-platform/")
    page.check("input[name=user][value=learner]")
    page.select_option("select#link", LINK_ID)
    page.click("button[name=mode][value=launch]:not([formtarget])")
    tool = page.frame(name="tool-frame")
    assert tool is not None
    tool.wait_for_url(demo.url + "/app/placement")
    tool.wait_for_load_state("load")
    tool.wait_for_function("() => window.Pathwise && window.Pathwise.go")
    tool.locator("[data-placement][data-state=intro]").wait_for()
    return tool


# (type, name, value, label text) of every answer input of a placement document.
FIELDS_JS = """doc => Array.from(doc.querySelectorAll("[data-field=options] input"))
    .map(i => [i.type, i.name, i.value,
               doc.querySelector(`label[for="${i.id}"]`)?.textContent.trim() ?? null])"""


def _inputs(tool: Any) -> list[list[str | None]]:
    """The answer fields of the question on screen, as the page shows them."""
    return list(tool.evaluate(f"({FIELDS_JS})(document)"))


def _served_inputs(tool: Any) -> list[list[str | None]]:
    """The answer fields the server renders for the pending question (a page view,
    as a reload or a later launch gets it), read without leaving the page."""
    return list(
        tool.evaluate(
            f"""async () => {{
                const body = new URLSearchParams({{lt: Pathwise.token()}});
                const page = await fetch("/app/placement", {{method: "POST", body}});
                const html = await page.text();
                return ({FIELDS_JS})(new DOMParser().parseFromString(html, "text/html"));
            }}"""
        )
    )


def _clean(tool: Any, where: str) -> None:
    violations = axe_violations(tool)
    assert violations == [], (where, [(v["id"], v["help"]) for v in violations])


def _is_answer(request: Any) -> bool:
    return bool(request.url.endswith(ANSWERS_API) and request.method == "POST")


def _answer_several(page: Any, tool: Any) -> Any:
    """Tick "5" by keyboard and "7" by mouse, submit by keyboard; the request sent."""
    assert _inputs(tool) == [
        ["checkbox", "answer-multi", str(i), text]
        for i, text in enumerate(SEVERAL_OPTIONS)
    ]
    assert tool.get_by_role("group", name=SEVERAL_PROMPT).count() == 1
    assert tool.get_by_role("checkbox").count() == len(SEVERAL_OPTIONS)
    assert tool.locator("[data-field=options] .hint").inner_text() == (
        "Choose every answer that applies."
    )
    _clean(tool, "multiple-choice question")
    shot(page, "placement-multiple")
    tool.get_by_role("checkbox", name="4", exact=True).focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    options = tool.locator("[data-field=options]")
    options.get_by_text("7", exact=True).click()  # its label: a mouse user's target
    checked = tool.locator("input[name=answer-multi]:checked")
    assert [box.get_attribute("value") for box in checked.all()] == ["1", "2"]
    tool.get_by_role("button", name="Answer and continue").focus()
    with page.expect_request(_is_answer) as sent:
        page.keyboard.press("Enter")
    return sent.value


def _answer_short(page: Any, tool: Any) -> Any:
    """Type the answer in the labelled text field and submit with Enter."""
    assert _inputs(tool) == [["text", "answer-text", "", "Your answer"]]
    assert tool.get_by_role("group", name=SHORT_PROMPT).count() == 1
    assert tool.get_by_role("checkbox").count() == 0
    assert tool.get_by_role("radio").count() == 0
    field = tool.get_by_role("textbox", name="Your answer")
    _clean(tool, "short-answer question")
    shot(page, "placement-short")
    field.focus()
    page.keyboard.type(" Four ")
    with page.expect_request(_is_answer) as sent:
        page.keyboard.press("Enter")
    return sent.value


def test_multiple_choice_and_short_answer_placement_questions(
    page: Any, demo_install: DemoInstall
) -> None:
    _install_the_catalogue(demo_install)
    tool = _launch(page, demo_install)
    tool.get_by_role("button", name="Start the check").click()
    kinds: list[str] = []
    while True:
        tool.locator(
            "[data-placement][data-state=question], [data-placement][data-state=done]"
        ).first.wait_for()
        if tool.locator("[data-placement][data-state=done]").count():
            break
        asked = len(kinds) + 1
        tool.locator(
            "#placement-progress", has_text=f"Question {asked} of at most 2"
        ).wait_for()
        prompt = tool.locator("#placement-prompt").inner_text().strip()
        assert prompt in (SEVERAL_PROMPT, SHORT_PROMPT), prompt
        # The question as the page's script drew it is the one the server renders
        # for a page view of the pending check: the same fields, the same labels.
        assert _served_inputs(tool) == _inputs(tool)
        if asked == 1:
            # A page view in the middle of the check (a reload) shows the pending
            # question; it is answered from that server-rendered page.
            with tool.expect_navigation(wait_until="load"):
                tool.evaluate("Pathwise.go('/app/placement')")
            tool.locator("[data-placement][data-state=question]").wait_for()
            assert tool.locator("#placement-prompt").inner_text().strip() == prompt
        if prompt == SEVERAL_PROMPT:
            kinds.append("multiple")
            request = _answer_several(page, tool)
            assert request.post_data_json["answer"] == SEVERAL_ANSWER
        else:
            kinds.append("short")
            request = _answer_short(page, tool)
            assert request.post_data_json["answer"] == "Four"
        response = request.response()
        assert response is not None and response.status == 200, response
        assert tool.locator("#placement-error").is_hidden()
        tool.locator(
            f"#placement-progress:has-text('Question {asked + 1} of'), "
            "[data-placement][data-state=done]"
        ).first.wait_for()
    assert sorted(kinds) == ["multiple", "short"]
    assert tool.locator("#placement-error").is_hidden()
    assert tool.locator("[data-field=summary]").inner_text().strip()
    assert tool.locator("#summary-heading").evaluate(
        "el => document.activeElement === el"
    )
    _clean(tool, "placement summary")
    shot(page, "placement-types-summary")
    with session_scope() as session:
        [placement] = session.scalars(select(PlacementSession)).all()
        # Both answers were scored as the right ones, in the shape of their type.
        assert [a["correct"] for a in placement.asked] == [True, True]
        assert placement.finished_at is not None
