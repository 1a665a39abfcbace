"""Security headers on every response (issue 13, #9): one header per test, per page family.

Families: an LTI page (the launch's own response), a learner page (``/app/home``), the
console, JSON/API endpoints and static files.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, update

from admin.users import create_admin_user
from lti_tool.infra.config import Settings
from lti_tool.infra.db import db, session_scope
from lti_tool.infra.models import Deployment
from lti_tool.lti.dev_registration import ensure_registration
from lti_tool.web.security_headers import REFERRER_POLICY
from tests.lti_browser import LaunchRun
from tests.lti_platform import LtiHarness, bearer, launch_token
from tests.support_env import make_test_settings, truncate_all

CONSOLE = "/admin/login"
JSON_URLS = ("/lti/jwks", "/healthz", "/lti/canvas.json")
STATIC = "/static/pathwise.css"


def _csp(
    headers: requests.structures.CaseInsensitiveDict[str] | dict[str, str],
) -> dict[str, str]:
    """The policy as {directive: sources}."""
    policy = headers["Content-Security-Policy"]
    parts = (p.strip().split(" ", 1) for p in policy.split(";") if p.strip())
    return {p[0]: (p[1] if len(p) > 1 else "") for p in parts}


def _origin(url: str) -> str:
    return re.match(r"^https?://[^/]+", url).group(0)  # type: ignore[union-attr]


@pytest.fixture
def launched(lti: LtiHarness) -> tuple[LtiHarness, LaunchRun]:
    run = lti.do_launch()
    assert run.status == 200, run.text[:1000]
    return lti, run


def _learner_page(lti: LtiHarness, run: LaunchRun) -> requests.Response:
    page = requests.post(
        lti.tool.url + "/app/home", data={"lt": launch_token(run.text)}, timeout=10
    )
    assert page.status_code == 200
    return page


def _families(lti: LtiHarness, run: LaunchRun) -> dict[str, requests.Response]:
    base = lti.tool.url
    return {
        "lti": run.launch_response,
        "learner": _learner_page(lti, run),
        "console": requests.get(base + CONSOLE, timeout=10),
        **{f"json {u}": requests.get(base + u, timeout=10) for u in JSON_URLS},
        "static": requests.get(base + STATIC, timeout=10),
    }


# ------------------------------------------------------------ every response


def test_every_family_says_nosniff(launched: tuple[LtiHarness, LaunchRun]) -> None:
    for family, response in _families(*launched).items():
        assert response.headers.get("X-Content-Type-Options") == "nosniff", family


def test_every_family_keeps_tokens_out_of_third_party_referers(
    launched: tuple[LtiHarness, LaunchRun],
) -> None:
    for family, response in _families(*launched).items():
        assert response.headers.get("Referrer-Policy") == REFERRER_POLICY, family
    assert REFERRER_POLICY in {"strict-origin-when-cross-origin", "same-origin"}


def test_no_page_overrides_the_policy_with_a_no_referrer_meta() -> None:
    # <meta name="referrer" content="no-referrer"> broke console sign-in over https.
    for folder in ("lti_tool/templates", "admin/templates"):
        for template in Path(folder).rglob("*.html"):
            assert 'name="referrer"' not in template.read_text(), template


def test_hsts_only_in_production(launched: tuple[LtiHarness, LaunchRun]) -> None:
    for family, response in _families(*launched).items():
        assert "Strict-Transport-Security" not in response.headers, family


@pytest.fixture
def production_client(tmp_path: Path, engine: Engine) -> Iterator[FlaskClient]:
    from lti_tool.app import create_app

    settings = make_test_settings(
        tmp_path,
        environment="production",
        base_url="https://pathwise.example.com",
        database_url=str(engine.url),
    )
    app = create_app(settings)
    db.configure(settings.database_url, engine=engine)
    yield app.test_client()
    truncate_all(engine)


def test_hsts_in_production_on_every_family(production_client: FlaskClient) -> None:
    base = "https://pathwise.example.com"
    for url in (CONSOLE, "/app/home", "/lti/jwks", "/healthz", STATIC):
        with production_client.get(url, base_url=base) as response:
            hsts = response.headers["Strict-Transport-Security"]
        assert hsts == "max-age=31536000", url


# ------------------------------------------------------------ CSP by family


def test_lti_page_may_be_framed_only_by_the_registered_platform(
    launched: tuple[LtiHarness, LaunchRun],
) -> None:
    lti, run = launched
    csp = _csp(run.launch_response.headers)
    assert csp["frame-ancestors"] == _origin(lti.lms.issuer)
    assert "*" not in csp["frame-ancestors"].split()


def test_learner_page_may_be_framed_only_by_the_registered_platform(
    launched: tuple[LtiHarness, LaunchRun],
) -> None:
    lti, run = launched
    csp = _csp(_learner_page(lti, run).headers)
    assert csp["frame-ancestors"] == _origin(lti.lms.issuer)
    # Forms post to Pathwise or back to the platform (the deep-linking return).
    assert set(csp["form-action"].split()) == {"'self'", _origin(lti.lms.issuer)}


@pytest.mark.parametrize("page", ["lti", "learner"])
def test_lti_and_learner_pages_lock_down_scripts_objects_and_base(
    launched: tuple[LtiHarness, LaunchRun], page: str
) -> None:
    response = _families(*launched)[page]
    csp = _csp(response.headers)
    assert csp["default-src"] == "'self'"
    assert csp["object-src"] == "'none'"
    assert csp["base-uri"] == "'none'"
    assert "'unsafe-inline'" not in csp["script-src"]
    assert "'unsafe-inline'" not in csp["style-src"]
    # Every inline script carries this response's nonce; none runs without one.
    for tag in re.findall(r"<script[^>]*>", response.text):
        assert "src=" in tag or "nonce=" in tag, tag


def test_inline_scripts_carry_the_responses_own_nonce(lti: LtiHarness) -> None:
    browser = lti.browser()
    initiation = lti.platform.start_launch(
        "learner", client_id=browser.tool_client_id, storage_target="_parent"
    )
    answers = [
        browser.http.post(initiation.login_url, data=initiation.params, timeout=10)
        for _ in range(2)
    ]
    nonces = []
    for answer in answers:
        assert answer.status_code == 200, answer.text[:500]
        nonce = re.search(r"'nonce-([^']+)'", _csp(answer.headers)["script-src"])
        assert nonce is not None
        assert f'<script nonce="{nonce.group(1)}">' in answer.text
        nonces.append(nonce.group(1))
    assert nonces[0] != nonces[1]


def test_console_may_never_be_framed(launched: tuple[LtiHarness, LaunchRun]) -> None:
    response = _families(*launched)["console"]
    csp = _csp(response.headers)
    assert csp["frame-ancestors"] == "'none'"
    assert csp["form-action"] == "'self'"
    assert csp["script-src"] == "'self'"
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("family", [f"json {u}" for u in JSON_URLS] + ["static"])
def test_json_and_static_files_allow_nothing(
    launched: tuple[LtiHarness, LaunchRun], family: str
) -> None:
    csp = _csp(_families(*launched)[family].headers)
    assert csp["default-src"] == "'none'"
    assert csp["frame-ancestors"] == "'none'"


def test_frame_ancestors_follow_the_registrations_without_a_restart(
    launched: tuple[LtiHarness, LaunchRun],
) -> None:
    lti, run = launched
    token = launch_token(run.text)

    def framers() -> set[str]:
        page = requests.get(
            lti.tool.url + "/app/home", headers=bearer(token), timeout=10
        )
        return set(_csp(page.headers)["frame-ancestors"].split())

    with session_scope() as session:
        ensure_registration(
            session,
            issuer="https://moodle.school.example",
            client_id="second",
            deployment_id="1",
            name="Second LMS",
        )
    assert framers() == {_origin(lti.lms.issuer), "https://moodle.school.example"}
    with session_scope() as session:
        session.execute(update(Deployment).values(active=False))
    assert framers() == {"'none'"}


def test_configured_extra_origins_may_frame_lti_pages(
    app: Flask, client: FlaskClient, settings: Settings
) -> None:
    from lti_tool.app import create_app

    extra = create_app(
        settings.with_overrides(frame_ancestors=("https://*.instructure.com",))
    )
    response = extra.test_client().get("/app/home")
    assert _csp(response.headers)["frame-ancestors"] == "https://*.instructure.com"


def test_a_refused_launch_can_be_read_inside_any_lms_frame(lti: LtiHarness) -> None:
    # An error page has nothing to click and carries no token; an LMS admin fixing a
    # registration must see the reason code in the frame.
    answer = requests.post(
        lti.tool.launch_url, data={"id_token": "x", "state": "y"}, timeout=10
    )
    assert answer.status_code == 400
    assert _csp(answer.headers)["frame-ancestors"] == "*"
    assert "'unsafe-inline'" not in _csp(answer.headers)["script-src"]


# ------------------------------------------------------------ CSRF over https


@pytest.fixture
def https_client(tmp_path: Path, engine: Engine) -> Iterator[FlaskClient]:
    from lti_tool.app import create_app

    settings = make_test_settings(
        tmp_path, base_url="https://pathwise.test", database_url=str(engine.url)
    )
    app = create_app(settings)
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=True)
    db.configure(settings.database_url, engine=engine)
    with session_scope() as session:
        create_admin_user(
            session, username="root", password="correct horse battery", role="admin"
        )
    yield app.test_client()
    truncate_all(engine)


def _sign_in(client: FlaskClient, headers: dict[str, str]) -> int:
    base = "https://pathwise.test"
    page = client.get(CONSOLE, base_url=base)
    assert page.headers["Referrer-Policy"] == REFERRER_POLICY
    csrf = re.search(
        rb'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page.data
    )
    assert csrf is not None
    response = client.post(
        CONSOLE,
        base_url=base,
        headers=headers,
        data={
            "username": "root",
            "password": "correct horse battery",
            "csrf_token": csrf.group(1).decode(),
        },
    )
    return response.status_code


def test_console_sign_in_works_over_https_with_the_referer_the_policy_sends(
    https_client: FlaskClient,
) -> None:
    # Same-origin under strict-origin-when-cross-origin: the browser sends the full URL.
    referer = {"Referer": "https://pathwise.test/admin/login"}
    assert _sign_in(https_client, referer) == 302
    assert (
        https_client.get("/admin/", base_url="https://pathwise.test").status_code == 200
    )


def test_console_sign_in_over_https_needs_that_referer(
    https_client: FlaskClient,
) -> None:
    # What the old no-referrer meta made every browser do: Flask-WTF refuses it.
    assert _sign_in(https_client, {}) == 400
