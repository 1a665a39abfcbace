"""Test harness for e2e: the ``lms``, ``live_tool`` and ``lti`` fixtures and launch logs.

The servers live in tests/live_servers.py and the browser-like client in
tests/lti_browser.py; this module wires them into the fixtures tests/e2e/conftest.py
exposes, and ``LtiHarness``, one launch away from a fresh browser.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine

from lti_tool.devplatform.model import LEARNER, SampleUser
from lti_tool.devplatform.platform import DevPlatform
from lti_tool.devplatform.vocabulary import MESSAGE_RESOURCE_LINK
from lti_tool.infra.config import Settings
from tests.live_servers import (
    LivePlatform,
    LiveTool,
    register_tool,
    running_platform,
    running_tool,
)
from tests.lti_browser import AuthRequest, LaunchRun, LtiBrowser
from tests.support_env import truncate_all

LAUNCH_LOGGER = "pathwise.launch"


@dataclass
class LtiHarness:
    lms: LivePlatform
    tool: LiveTool

    @property
    def platform(self) -> DevPlatform:
        return self.lms.platform

    def browser(self, client_id: str | None = None) -> LtiBrowser:
        return LtiBrowser(self.lms, self.tool, client_id=client_id)

    def do_launch(
        self,
        user: SampleUser | str = LEARNER,
        *,
        message_type: str = MESSAGE_RESOURCE_LINK,
        **claim_overrides: Any,
    ) -> LaunchRun:
        """A launch by a fresh browser; ``claim_overrides`` reach the id_token."""
        return self.browser().launch(user, message_type=message_type, **claim_overrides)

    def post_id_token(
        self, make_token: Callable[[AuthRequest], str], **kwargs: Any
    ) -> LaunchRun:
        return self.browser().post_id_token(make_token, **kwargs)


@pytest.fixture
def lms() -> Iterator[LivePlatform]:
    with running_platform() as live:
        yield live


@pytest.fixture
def live_tool(
    settings: Settings, engine: Engine, lms: LivePlatform
) -> Iterator[LiveTool]:
    """Pathwise on a real port, registered with the ``lms`` fixture's platform."""
    with running_tool(settings, engine) as (url, app):
        registration_id = register_tool(lms, url)
        yield LiveTool(
            url=url,
            app=app,
            settings=app.extensions["pathwise.settings"],
            registration_id=registration_id,
        )
    truncate_all(engine)


@pytest.fixture
def lti(lms: LivePlatform, live_tool: LiveTool) -> LtiHarness:
    return LtiHarness(lms=lms, tool=live_tool)


@pytest.fixture
def launch_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger=LAUNCH_LOGGER)
    return caplog


def rejection_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == LAUNCH_LOGGER and r.getMessage().startswith("launch rejected:")
    ]


_TOKEN_META = re.compile(r'<meta name="pathwise-launch-token" content="([^"]+)">')


def launch_token(page: str) -> str:
    """The launch token a learner page carries in its ``<meta>`` (never in a URL)."""
    match = _TOKEN_META.search(page)
    assert match is not None, page[:500]
    return match.group(1)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_rejected(
    run: LaunchRun, code: str, caplog: pytest.LogCaptureFixture, *, mentions: str = ""
) -> None:
    """A readable 4xx page naming the reason, and one log line naming it too."""
    assert 400 <= run.status < 500, (run.status, run.text[:500])
    assert run.response.headers["Content-Type"].startswith("text/html")
    assert f'data-reason="{code}"' in run.text
    lines = rejection_lines(caplog)
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"launch rejected: {code}")
    assert mentions in lines[0]
    assert not [r for r in caplog.records if r.levelname in {"ERROR", "CRITICAL"}]


LEARNER_PAGE_URLS = ("/app/placement", "/app/path", "/app/home")


def assert_learner_page(run: LaunchRun) -> None:
    assert run.status == 200, run.text[:2000]
    # Served in the launch's own response; the page moves its address to its own
    # URL: the placement check while it is to do, else the path (/app/home when the
    # link names no module yet).
    assert any(f'data-page-url="{url}"' in run.text for url in LEARNER_PAGE_URLS)
    assert "lt=" not in run.text
    assert 'id="welcome"' in run.text


def assert_manager_page(run: LaunchRun) -> None:
    assert run.status == 200, run.text[:2000]
    assert 'id="cohort"' in run.text
    assert 'id="welcome"' not in run.text
