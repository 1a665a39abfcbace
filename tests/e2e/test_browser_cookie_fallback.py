"""In real Chromium, a cross-site frame over http keeps no cookie, and the launch still ends well.

The development LMS runs on ``127.0.0.1`` and Pathwise on ``localhost``: two sites, plain
http, as an LMS and a tool on different hosts without TLS. Chromium refuses Pathwise's
``SameSite=Lax`` state cookie in the LMS's frame and does not send it on the LMS's
cross-site form post. The frame says so and offers a new window; the window starts a
fresh launch at the LMS (its hint is single use, as Moodle's), and Pathwise's own
re-post carries the cookie.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine

from lti_tool.app import create_app
from lti_tool.devplatform.model import LEARNER
from lti_tool.devplatform.vocabulary import DEV_PREFIX
from lti_tool.infra.config import Settings
from lti_tool.infra.db import db
from tests.live_servers import LivePlatform, register_tool, running_platform, serve
from tests.support_env import require_service, truncate_all

CHROMIUM = os.environ.get("PATHWISE_CHROMIUM", "/usr/bin/chromium")

pytestmark = pytest.mark.browser


@pytest.fixture
def two_sites(settings: Settings, engine: Engine) -> Iterator[tuple[LivePlatform, str]]:
    """The development LMS at 127.0.0.1 and Pathwise at localhost, both plain http."""
    with running_platform() as lms:

        def build(url: str) -> Flask:
            app = create_app(
                settings.with_overrides(base_url=url.replace("127.0.0.1", "localhost"))
            )
            db.configure(settings.database_url, engine=engine)
            return app

        server = serve(build)
        tool_url = server.url.replace("127.0.0.1", "localhost")
        try:
            register_tool(lms, tool_url)
            yield lms, tool_url
        finally:
            server.stop()
            truncate_all(engine)


@pytest.fixture
def chromium_page() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        require_service("Chromium", f"{CHROMIUM} not found (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox"]
        )
        context = browser.new_context()
        page = context.new_page()
        page.set_default_timeout(20_000)
        try:
            yield page
        finally:
            context.close()
            browser.close()


def test_cookieless_frame_offers_a_window_that_finishes_the_launch(
    two_sites: tuple[LivePlatform, str], chromium_page: Any
) -> None:
    lms, tool_url = two_sites
    page = chromium_page
    page.goto(lms.server.url + DEV_PREFIX + "/")
    page.check(f"input[name=user][value={LEARNER.label}]")
    page.click("button[name=mode][value=launch]:not([formtarget])")

    frame = page.frame_locator("iframe[name=tool-frame]")
    in_frame = frame.locator("#in-frame")
    in_frame.wait_for()
    assert "inside this course frame" in in_frame.inner_text()
    assert frame.locator("#in-window").is_hidden()

    with page.context.expect_page() as opened:
        frame.locator("#in-frame a.button").click()
    window = opened.value
    window.locator("#welcome").wait_for()
    assert window.url.startswith(tool_url + "/")
    assert "Ada Lovelace" in window.locator("main h1").inner_text()


def test_cookieless_frame_with_platform_storage_launches_in_place(
    two_sites: tuple[LivePlatform, str], chromium_page: Any
) -> None:
    """Canvas-style: ``lti_storage_target`` keeps the state in the LMS, no cookie."""
    lms, _ = two_sites
    page = chromium_page
    page.goto(lms.server.url + DEV_PREFIX + "/")
    page.check(f"input[name=user][value={LEARNER.label}]")
    page.check("input[name=storage]")
    page.click("button[name=mode][value=launch]:not([formtarget])")

    frame = page.frame_locator("iframe[name=tool-frame]")
    frame.locator("#welcome").wait_for()
    assert "Ada Lovelace" in frame.locator("main h1").inner_text()
    assert frame.locator("#in-frame").count() == 0


@pytest.mark.parametrize("storage", [False, True], ids=["moodle", "canvas"])
def test_a_launch_in_a_new_window_over_http_lands(
    two_sites: tuple[LivePlatform, str], chromium_page: Any, storage: bool
) -> None:
    """The LMS's "New window" container: the cross-site POST carries no Lax cookie."""
    lms, tool_url = two_sites
    page = chromium_page
    page.goto(lms.server.url + DEV_PREFIX + "/")
    page.check(f"input[name=user][value={LEARNER.label}]")
    if storage:
        page.check("input[name=storage]")
    with page.context.expect_page() as opened:
        page.click("button[name=mode][value=launch][formtarget=_blank]")
    window = opened.value
    window.locator("#welcome").wait_for()
    assert window.url.startswith(tool_url + "/")
    assert "Ada Lovelace" in window.locator("main h1").inner_text()
