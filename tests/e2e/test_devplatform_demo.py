"""The demo's development LMS inside Pathwise itself: its page launches and deep-links for real."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urljoin

import pytest
import requests
from sqlalchemy import Engine, select

from adaptive.demo_seed import seed_demo
from lti_tool.devplatform.vocabulary import DEV_CLIENT_ID, KEY_FILE
from lti_tool.infra.config import Settings
from lti_tool.infra.db import session_scope
from lti_tool.infra.models import Registration
from tests.live_servers import running_tool
from tests.lti_browser import parse_form
from tests.support_env import truncate_all


@dataclass
class Demo:
    url: str
    settings: Settings


@pytest.fixture
def demo(settings: Settings, engine: Engine) -> Iterator[Demo]:
    """Pathwise with the development LMS enabled, on a real port, demo catalogue loaded."""
    with running_tool(settings.with_overrides(dev_platform_enabled=True), engine) as (
        url,
        app,
    ):
        with session_scope() as session:
            seed_demo(session)
        yield Demo(url=url, settings=app.extensions["pathwise.settings"])
    truncate_all(engine)


def submit(
    http: requests.Session, page: requests.Response, data: dict[str, str] | None = None
) -> requests.Response:
    """Submit the page's (auto-submitting) form as a browser would."""
    action, fields = parse_form(page.text)
    return http.post(urljoin(page.url, action), data=data or fields, timeout=30)


def launch_from_demo_page(
    demo: Demo, http: requests.Session, form: dict[str, str]
) -> requests.Response:
    """The demo page's form, then login, LMS auth and id_token POST, all auto-submitted."""
    course_page = http.get(demo.url + "/dev-platform/", timeout=30)
    assert course_page.status_code == 200
    to_login = http.post(demo.url + "/dev-platform/launch", data=form, timeout=30)
    assert to_login.status_code == 200, to_login.text
    to_tool = submit(http, to_login)  # login -> 302 to /dev-platform/auth -> auto-post
    assert to_tool.status_code == 200, to_tool.text
    assert "/dev-platform/auth" in to_tool.url
    return submit(http, to_tool)  # id_token -> /lti/launch -> 303 -> landing page


def test_demo_page_launches_a_learner_into_the_demo_module(demo: Demo) -> None:
    http = requests.Session()

    page = launch_from_demo_page(
        demo,
        http,
        {"user": "learner", "link": "dev-link-ai-everyone", "mode": "launch"},
    )

    assert page.status_code == 200, page.text[:2000]
    assert "Ada Lovelace" in page.text
    assert '<dd data-field="module">AI readiness for everyone</dd>' in page.text
    assert '<dd data-field="course">AI at Work</dd>' in page.text
    with session_scope() as session:
        registration = session.scalar(
            select(Registration).where(Registration.client_id == DEV_CLIENT_ID)
        )
        assert registration is not None
        assert registration.issuer == demo.url + "/dev-platform"
    assert (demo.settings.data_dir / KEY_FILE).stat().st_mode & 0o777 == 0o600


def test_demo_page_launches_the_instructor_into_the_manager_page(demo: Demo) -> None:
    page = launch_from_demo_page(
        demo,
        requests.Session(),
        {"user": "instructor", "link": "dev-link-ai-leads", "mode": "launch"},
    )

    assert page.status_code == 200, page.text[:2000]
    assert 'id="cohort"' in page.text
    assert "Grace Hopper" in page.text


def test_demo_deep_linking_adds_a_module_link_to_the_course(demo: Demo) -> None:
    http = requests.Session()
    picker = launch_from_demo_page(
        demo, http, {"user": "instructor", "link": "", "mode": "deep_link"}
    )
    assert picker.status_code == 200, picker.text[:2000]
    assert "AI for team leads" in picker.text

    back_to_lms = submit(http, picker)
    received = submit(http, back_to_lms)
    activity = http.get(demo.url + "/dev-platform/activity", timeout=30)
    course_page = http.get(demo.url + "/dev-platform/", timeout=30)

    assert received.status_code == 200, received.text
    assert 'data-items="1"' in received.text
    assert "ltiResourceLink" in activity.text
    assert course_page.text.count("AI for team leads") == 2
