"""Test support: headless Chromium journeys against the tool as `pathwise demo` runs it.

Fixtures ``demo_install`` / ``demo_url`` (migrated SQLite, demo seed, the development
LMS inside it, a real port) and ``page`` (a Chromium tab that fails the test on any
Content-Security-Policy report), registered for ``tests/e2e`` in its conftest; helpers
to launch into the LMS frame, run axe-core and save screenshots.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine

from lti_tool.infra.db import db
from tests.live_servers import serve
from tests.support_env import make_test_settings, require_service

CHROMIUM = os.environ.get("PATHWISE_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = (
    Path(os.environ.get("PATHWISE_SCREENSHOTS", ""))
    if os.environ.get("PATHWISE_SCREENSHOTS")
    else None
)
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class DemoInstall:
    """The demo on its port, and its app (whose development LMS keeps a gradebook)."""

    url: str
    app: Flask


@pytest.fixture
def demo_install(tmp_path: Path, engine: Engine) -> Iterator[DemoInstall]:
    """Pathwise as `pathwise demo` runs it: migrated SQLite, demo seed, dev LMS, real port."""
    from lti_tool.app import create_app
    from lti_tool.cli.db import upgrade_database
    from lti_tool.cli.embedded import seed_demo_install

    demo_dir = tmp_path / "demo"
    base = make_test_settings(
        demo_dir, database_url=f"sqlite:///{demo_dir / 'pathwise.sqlite'}"
    )
    demo_dir.mkdir()
    apps: list[Flask] = []

    def build(url: str) -> Any:
        demo = base.with_overrides(base_url=url, dev_platform_enabled=True)
        app = create_app(demo)
        upgrade_database(demo)
        seed_demo_install(demo)
        apps.append(app)
        return app

    server = serve(build)
    try:
        yield DemoInstall(url=server.url, app=apps[0])
    finally:
        server.stop()
        # Hand the process-wide database back to the suite's engine.
        db.configure(str(engine.url), engine=engine)


@pytest.fixture
def demo_url(demo_install: DemoInstall) -> str:
    return demo_install.url


@pytest.fixture
def page() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        require_service("Chromium", f"{CHROMIUM} not found (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        tab = context.new_page()
        tab.set_default_timeout(20_000)
        # Every journey runs under the real Content-Security-Policy: nothing it
        # needs may be blocked (an inline script without its nonce, a form target).
        blocked: list[str] = []
        tab.on(
            "console",
            lambda m: blocked.append(m.text) if "Content Security" in m.text else None,
        )
        try:
            yield tab
        finally:
            context.close()
            browser.close()
        assert blocked == []


def shot(page: Any, name: str) -> None:
    if SCREENSHOTS is not None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def axe_violations(frame: Any) -> list[dict[str, Any]]:
    """Serious and critical WCAG violations reported by axe-core in ``frame``."""
    import axe_playwright_python

    script = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()
    frame.evaluate(script)
    result = frame.evaluate(
        "async () => await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa']})"
    )
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


def launch_in_lms(page: Any, demo_url: str, user: str, *, storage: bool = False) -> Any:
    page.goto(demo_url + "/dev-platform/")
    page.check(f"input[name=user][value={user}]")
    if storage:
        page.check("input[name=storage]")
    page.click("button[name=mode][value=launch]:not([formtarget])")
    frame = page.frame_locator("iframe[name=tool-frame]")
    frame.locator("main h1").wait_for()
    return frame
