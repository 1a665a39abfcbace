"""End-to-end: the launch and Deep Linking refusals of the security review (issue 13).

Each test makes the request a finding made against the live development LMS and
live Pathwise, and gets a readable 4xx page naming its reason and one log line.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

import jwt
import pytest
import requests
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select, update

from adaptive.models import Framework, Module
from lti_tool.devplatform.model import INSTRUCTOR, LEARNER
from lti_tool.devplatform.vocabulary import CLAIM_TARGET_LINK_URI, MESSAGE_DEEP_LINKING
from lti_tool.infra.config import Settings
from lti_tool.infra.db import session_scope
from lti_tool.infra.models import Launch, Registration
from tests.live_servers import LivePlatform, LiveTool, register_tool, running_tool
from tests.lti_browser import LaunchRun, LtiBrowser, parse_form
from tests.lti_platform import (
    LtiHarness,
    assert_learner_page,
    assert_rejected,
    bearer,
    launch_token,
    rejection_lines,
)

EVIL = "https://evil.example"


@pytest.fixture
def modules(live_tool: LiveTool) -> Iterator[int]:
    """One module in the shared catalogue."""
    with session_scope() as session:
        framework = Framework(key="demo-data", name="Data skills")
        session.add(framework)
        session.flush()
        module = Module(framework_id=framework.id, key="sql-basics", title="SQL")
        session.add(module)
        session.flush()
        module_id = module.id
    yield module_id


def picker(lti: LtiHarness) -> tuple[LaunchRun, str, dict[str, str]]:
    """An instructor's deep-linking launch: the run, the picker's action and fields."""
    run = lti.do_launch(INSTRUCTOR, message_type=MESSAGE_DEEP_LINKING)
    assert run.status == 200, run.text[:2000]
    action, fields = parse_form(run.text)
    return run, urljoin(run.response.url, action), fields


def launch_count() -> int:
    with session_scope() as session:
        return int(session.scalar(select(func.count()).select_from(Launch)) or 0)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# ------------------------------------------------ #1 deep-link return URL


@pytest.mark.parametrize(
    "return_url",
    [
        "javascript:fetch('/admin/platforms')",
        "JavaScript:alert(document.domain)",
        "java\tscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        EVIL + "/deep-link-return",
        "//evil.example/return",
        "/relative/return",
    ],
    ids=["javascript", "mixed-case", "tab", "data", "other-host", "scheme-less", "rel"],
)
def test_deep_link_return_url_off_the_platform_is_refused_at_launch(
    lti: LtiHarness, launch_log: Any, modules: int, return_url: str
) -> None:
    settings = {
        "deep_link_return_url": return_url,
        "accept_types": ["ltiResourceLink"],
    }
    run = lti.do_launch(
        INSTRUCTOR, message_type=MESSAGE_DEEP_LINKING, deep_linking_settings=settings
    )

    assert_rejected(run, "bad_return_url", launch_log)
    assert "/app/deep-link" not in run.response.url
    assert launch_count() == 0


def test_return_url_is_checked_again_when_the_response_form_is_built(
    lti: LtiHarness, launch_log: Any, modules: int
) -> None:
    run, action, fields = picker(lti)
    # The platform's registration moves elsewhere between the launch and the pick.
    with session_scope() as session:
        session.execute(
            update(Registration).values(
                issuer=EVIL,
                auth_login_url=EVIL + "/auth",
                auth_token_url=EVIL + "/token",
                key_set_url=EVIL + "/jwks",
            )
        )
    launch_log.clear()

    answer = run.browser.http.post(action, data=fields, timeout=30)

    assert answer.status_code == 400
    assert 'data-reason="bad_return_url"' in answer.text
    assert lti.platform.deep_link_returns == []
    assert len(rejection_lines(launch_log)) == 1


# ---------------------------------------------- #1 picker cross-site POST


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site", "Origin": EVIL},
        {"Sec-Fetch-Site": "same-site", "Origin": "http://localhost:1"},
        {"Origin": EVIL},
        {"Origin": "null"},
    ],
    ids=["cross-site", "same-site", "origin-only", "null-origin"],
)
def test_a_cross_site_picker_post_is_refused_and_loses_nothing(
    lti: LtiHarness, launch_log: Any, modules: int, headers: dict[str, str]
) -> None:
    """An attacker's page auto-posts their own launch token and picker token."""
    _, action, fields = picker(lti)  # the attacker's own deep-linking launch
    launch_log.clear()

    attack = requests.post(action, data=fields, headers=headers, timeout=30)

    assert attack.status_code == 403
    assert 'data-reason="cross_site_request"' in attack.text
    assert "<form id='dl'" not in attack.text
    assert len(rejection_lines(launch_log)) == 1
    # The selection is still there for the browser it belongs to.
    same_origin = {"Sec-Fetch-Site": "same-origin", "Origin": lti.tool.url}
    page = requests.post(action, data=fields, headers=same_origin, timeout=30)
    assert page.status_code == 200, page.text[:2000]
    assert parse_form(page.text)[0] == lti.platform.deep_link_return_url


def test_the_launch_token_alone_cannot_return_a_selection(
    lti: LtiHarness, launch_log: Any, modules: int
) -> None:
    _, action, fields = picker(lti)
    launch_log.clear()

    forged = requests.post(
        action, data={"lt": fields["lt"], "module_id": str(modules)}, timeout=30
    )
    guessed = requests.post(
        action, data={**fields, "picker_token": secrets.token_urlsafe(32)}, timeout=30
    )

    assert forged.status_code == guessed.status_code == 403
    assert 'data-reason="bad_picker_token"' in forged.text
    assert 'data-reason="bad_picker_token"' in guessed.text
    assert len(rejection_lines(launch_log)) == 2
    assert requests.post(action, data=fields, timeout=30).status_code == 200


def test_the_picker_token_is_single_use(lti: LtiHarness, modules: int) -> None:
    _, action, fields = picker(lti)
    first = requests.post(action, data=fields, timeout=30)

    again = requests.post(action, data=fields, timeout=30)

    assert first.status_code == 200
    assert again.status_code == 400
    assert 'data-reason="deep_link_expired"' in again.text


# ---------------------------------------------------------- #12 JWKS fetches


def test_ten_made_up_kids_cause_one_jwks_fetch(
    lti: LtiHarness, launch_log: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Embedded mode: the cooldown must survive the rejected launch's rollback."""
    assert lti.tool.settings.redis_url is None
    fetches: list[float] = []
    serve_jwks = lti.platform.jwks

    def counted() -> dict[str, Any]:
        fetches.append(time.monotonic())
        return serve_jwks()

    monkeypatch.setattr(lti.platform, "jwks", counted)

    runs = [
        lti.do_launch(LEARNER, headers={"kid": "made-up-" + secrets.token_hex(8)})
        for _ in range(10)
    ]

    assert [run.status for run in runs] == [401] * 10
    assert all('data-reason="unknown_kid"' in run.text for run in runs)
    assert len(fetches) == 1
    assert len(rejection_lines(launch_log)) == 10


# ------------------------------------------------------- #13 JSON depth


@pytest.mark.parametrize("segment", ["header", "body"])
def test_a_50000_deep_id_token_is_refused_as_malformed(
    lti: LtiHarness, launch_log: Any, segment: str
) -> None:
    deep = b'{"a":' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    header = b'{"alg":"RS256","kid":"k"}'

    def deep_token(_: Any) -> str:
        parts = (deep, b"{}") if segment == "header" else (header, deep)
        return f"{b64(parts[0])}.{b64(parts[1])}.{b64(b'sig')}"

    assert_rejected(lti.post_id_token(deep_token), "malformed_token", launch_log)


# ------------------------------------------------------ #14 request sizes


def test_a_40_mb_id_token_is_refused_before_parsing(
    client: FlaskClient, launch_log: Any
) -> None:
    response = client.post(
        "/lti/launch", data={"id_token": "e" * 40_000_000, "state": "st-x"}
    )

    assert response.status_code == 413
    assert 'data-reason="request_too_large"' in response.get_data(as_text=True)
    assert len(rejection_lines(launch_log)) == 1


def test_a_1_mb_custom_claim_is_not_stored(
    settings: Settings, engine: Engine, lms: LivePlatform, launch_log: Any
) -> None:
    """Even under a request limit that lets the token in, the claim is refused."""
    from tests.support_env import truncate_all

    roomy = settings.with_overrides(max_request_bytes=8 * 1024 * 1024)
    try:
        with running_tool(roomy, engine) as (url, app):
            tool = LiveTool(
                url=url,
                app=app,
                settings=app.extensions["pathwise.settings"],
                registration_id=register_tool(lms, url),
            )
            run = LtiBrowser(lms, tool).launch(
                LEARNER, custom={"blob": "x" * 1_000_000}
            )
            assert_rejected(run, "claim_too_large", launch_log, mentions="custom")
            assert launch_count() == 0
    finally:
        truncate_all(engine)


def test_long_display_names_are_cut_to_their_columns(lti: LtiHarness) -> None:
    run = lti.do_launch(LEARNER, name="N" * 5000)

    assert_learner_page(run)
    assert "N" * 300 in run.text
    assert "N" * 301 not in run.text


# ------------------------------------------------------ #15 target_link_uri


@pytest.mark.parametrize(
    "target",
    [
        EVIL + "/lti/launch",
        "{tool}/admin/",
        "{tool}/lti/launch/../../admin",
        "javascript:alert(1)",
    ],
    ids=["other-host", "other-path", "dot-dot", "javascript"],
)
def test_login_for_another_target_link_uri_is_refused(
    lti: LtiHarness, launch_log: Any, target: str
) -> None:
    browser = lti.browser()
    initiation = lti.platform.start_launch(
        LEARNER,
        client_id=browser.tool_client_id,
        target_link_uri=target.format(tool=lti.tool.url),
    )

    response = browser.http.post(
        initiation.login_url, data=initiation.params, allow_redirects=False, timeout=15
    )

    run = LaunchRun(
        fields={}, launch_response=response, response=response, browser=browser
    )
    assert_rejected(run, "bad_target_link_uri", launch_log)


def test_id_token_for_another_target_link_uri_is_refused(
    lti: LtiHarness, launch_log: Any
) -> None:
    run = lti.do_launch(LEARNER, claims={CLAIM_TARGET_LINK_URI: EVIL + "/lti/launch"})

    assert_rejected(run, "bad_target_link_uri", launch_log)
    assert launch_count() == 0


def test_target_link_uri_with_a_query_string_is_accepted(lti: LtiHarness) -> None:
    """Moodle and Canvas may add parameters to the tool URL."""
    run = lti.do_launch(LEARNER, target_link_uri=lti.tool.launch_url + "?id=42&lang=en")

    assert_learner_page(run)


# --------------------------------------- #17 launch token tied to its row


def landing_token(run: LaunchRun) -> str:
    return launch_token(run.text)


def test_launch_token_claims_must_match_their_launch_row(
    lti: LtiHarness, launch_log: Any
) -> None:
    learner = landing_token(lti.do_launch(LEARNER))
    instructor = landing_token(lti.do_launch(INSTRUCTOR))
    secret = lti.tool.settings.secret_key
    claims = jwt.decode(learner, secret, algorithms=["HS256"])
    other = jwt.decode(instructor, secret, algorithms=["HS256"])
    launch_log.clear()

    promoted = jwt.encode({**claims, "role": "instructor"}, secret, "HS256")
    someone_else = jwt.encode({**claims, "pid": other["pid"]}, secret, "HS256")
    gone = jwt.encode({**claims, "lid": 10_000}, secret, "HS256")
    answers = {
        name: requests.get(
            lti.tool.url + "/app/home", headers=bearer(token), timeout=30
        )
        for name, token in (
            ("promoted", promoted),
            ("someone_else", someone_else),
            ("gone", gone),
        )
    }

    assert answers["promoted"].status_code == 401
    assert 'data-reason="launch_mismatch"' in answers["promoted"].text
    assert 'data-reason="launch_mismatch"' in answers["someone_else"].text
    assert 'data-reason="launch_gone"' in answers["gone"].text
    assert len(rejection_lines(launch_log)) == 3
    ok = requests.get(lti.tool.url + "/app/home", headers=bearer(learner), timeout=30)
    assert ok.status_code == 200


def test_a_launch_token_without_its_resource_link_claim_is_refused(
    lti: LtiHarness,
) -> None:
    token = landing_token(lti.do_launch(LEARNER))
    secret = lti.tool.settings.secret_key
    claims = jwt.decode(token, secret, algorithms=["HS256"])
    claims.pop("rl")

    answer = requests.get(
        lti.tool.url + "/app/home",
        headers=bearer(jwt.encode(claims, secret, "HS256")),
        timeout=30,
    )

    assert answer.status_code == 401
    assert 'data-reason="bad_launch_token"' in answer.text


def test_an_oversized_console_post_is_refused_with_one_log_line(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("WARNING", logger="pathwise.web")

    response = client.post("/admin/login", data={"username": "a" * 2_000_000})

    assert response.status_code == 413
    lines = [r.getMessage() for r in caplog.records if r.name == "pathwise.web"]
    assert len(lines) == 1
    assert lines[0].startswith("request refused: request_too_large")
