"""The launch token never rides in a URL (issue 13, #10): not in logs, Referers or history."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from sqlalchemy import Engine, select

from lti_tool.devplatform.model import INSTRUCTOR, LEARNER
from lti_tool.devplatform.vocabulary import MESSAGE_DEEP_LINKING
from lti_tool.infra.db import Base
from tests.lti_browser import LaunchRun
from tests.lti_platform import LtiHarness, bearer, launch_token, rejection_lines


def _responses(run: LaunchRun) -> list[requests.Response]:
    assert run.auth is not None
    return [run.auth.login_response, run.launch_response, run.response]


@pytest.mark.parametrize(
    ("user", "message"),
    [(LEARNER, None), (INSTRUCTOR, None), (INSTRUCTOR, MESSAGE_DEEP_LINKING)],
)
def test_no_response_of_a_launch_puts_the_token_in_a_url(
    lti: LtiHarness, user: Any, message: str | None
) -> None:
    run = lti.do_launch(user, message_type=message) if message else lti.do_launch(user)
    assert run.status == 200, run.text[:1000]
    token = launch_token(run.text)
    for response in _responses(run):
        assert "lt=" not in response.text
        assert "lt=" not in response.headers.get("Location", "")
        assert token not in response.headers.get("Location", "")
        assert "lt=" not in response.url
    # The page keeps it where its script reads it, and names a plain address.
    assert f'<meta name="pathwise-launch-token" content="{token}">' in run.text
    assert 'data-page-url="/app/' in run.text


def test_home_opens_with_the_bearer_header(lti: LtiHarness) -> None:
    token = launch_token(lti.do_launch(LEARNER).text)
    page = requests.get(lti.tool.url + "/app/home", headers=bearer(token), timeout=10)
    assert page.status_code == 200
    assert 'id="welcome"' in page.text


def test_home_opens_with_the_token_in_the_post_body(lti: LtiHarness) -> None:
    token = launch_token(lti.do_launch(INSTRUCTOR).text)
    page = requests.post(lti.tool.url + "/app/home", data={"lt": token}, timeout=10)
    assert page.status_code == 200
    assert 'id="cohort"' in page.text
    assert "lt=" not in page.text


def test_a_reload_without_a_token_gets_the_page_that_reposts_it(
    lti: LtiHarness,
) -> None:
    lti.do_launch(LEARNER)
    page = requests.get(lti.tool.url + "/app/home", timeout=10)
    assert page.status_code == 200
    assert 'data-resume-url="/app/home"' in page.text
    assert 'id="welcome"' not in page.text  # nothing of anyone's without a token
    assert 'data-reason="no_launch"' in page.text


def test_the_deep_link_picker_reopens_by_post(lti: LtiHarness) -> None:
    run = lti.do_launch(INSTRUCTOR, message_type=MESSAGE_DEEP_LINKING)
    token = launch_token(run.text)
    resume = requests.get(lti.tool.url + "/app/deep-link", timeout=10)
    assert 'data-resume-url="/app/deep-link/picker"' in resume.text
    picker = requests.post(
        lti.tool.url + "/app/deep-link/picker", data={"lt": token}, timeout=10
    )
    assert picker.status_code == 200
    assert 'name="module_id"' in picker.text or "catalogue is empty" in picker.text


def test_a_learner_cannot_reopen_the_picker(lti: LtiHarness) -> None:
    token = launch_token(lti.do_launch(LEARNER).text)
    picker = requests.post(
        lti.tool.url + "/app/deep-link/picker", data={"lt": token}, timeout=10
    )
    assert picker.status_code == 403
    assert 'data-reason="forbidden"' in picker.text


@pytest.mark.parametrize("path", ["/app/home", "/app/deep-link"])
def test_the_old_token_in_the_url_is_refused(
    lti: LtiHarness, launch_log: pytest.LogCaptureFixture, path: str
) -> None:
    token = launch_token(lti.do_launch(INSTRUCTOR).text)
    launch_log.clear()
    old = requests.get(lti.tool.url + path, params={"lt": token}, timeout=10)
    assert old.status_code == 400
    assert 'data-reason="token_in_url"' in old.text
    lines = rejection_lines(launch_log)
    assert len(lines) == 1 and lines[0].startswith("launch rejected: token_in_url")
    assert token not in lines[0]
    # Even alongside a good header: an old link must not keep working.
    both = requests.get(
        lti.tool.url + path, params={"lt": token}, headers=bearer(token), timeout=10
    )
    assert both.status_code == 400


def _database(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            table.name: sorted(
                (tuple(row) for row in conn.execute(select(table))), key=repr
            )
            for table in Base.metadata.sorted_tables
        }


def test_the_post_that_reopens_a_page_writes_nothing(
    lti: LtiHarness, engine: Engine
) -> None:
    learner = launch_token(lti.do_launch(LEARNER).text)
    dl = launch_token(lti.do_launch(INSTRUCTOR, message_type=MESSAGE_DEEP_LINKING).text)
    before = _database(engine)
    for path, token in (("/app/home", learner), ("/app/deep-link/picker", dl)):
        answer = requests.post(lti.tool.url + path, data={"lt": token}, timeout=10)
        assert answer.status_code == 200
    assert _database(engine) == before
