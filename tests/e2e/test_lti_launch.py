"""End-to-end LTI 1.3 launches: a live development LMS signs them, a live Pathwise judges them.

Every rejection must give a readable 4xx page naming its reason (``data-reason``)
and exactly one ``launch rejected: <code>`` line on the ``pathwise.launch`` log.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sqlalchemy import Engine, delete, select

from lti_tool.devplatform.keys import generate_rsa_key
from lti_tool.devplatform.model import ADMIN, INSTRUCTOR, LEARNER, ToolConfig
from lti_tool.devplatform.overrides import DROP
from lti_tool.devplatform.vocabulary import (
    CLAIM_MESSAGE_TYPE,
    ROLE_INSTRUCTOR,
    ROLE_LEARNER,
)
from lti_tool.infra.config import Settings
from lti_tool.infra.db import session_scope
from lti_tool.infra.models import (
    UNKNOWN_DEPLOYMENT_AUTO,
    Deployment,
    Launch,
    Person,
    Registration,
    ToolKey,
)
from tests.factories import make_framework, make_module
from tests.live_servers import (
    LivePlatform,
    LiveTool,
    register_tool,
    running_tool,
    tool_process,
)
from tests.lti_browser import AuthRequest, LaunchRun, LtiBrowser
from tests.lti_platform import (
    LtiHarness,
    assert_learner_page,
    assert_manager_page,
    assert_rejected,
)
from tests.support_env import truncate_all

OTHER_KEY = generate_rsa_key()


@pytest.fixture
def demo_module(live_tool: LiveTool) -> Iterator[int]:
    """The shared module the LMS's first link names (custom pathwise_module)."""
    with session_scope() as session:
        framework = make_framework(session, "demo-data", name="Data skills")
        module = make_module(
            session,
            framework,
            key="ai-readiness-everyone",
            title="AI readiness for everyone",
            description="Read, question and chart data.",
        )
        module_id = module.id
    yield module_id


# ------------------------------------------------------------------ accepted


def test_learner_lands_on_the_learner_page_with_course_link_and_module(
    lti: LtiHarness, demo_module: int
) -> None:
    run = lti.do_launch(LEARNER)

    assert_learner_page(run)
    assert "Ada Lovelace" in run.text
    assert '<dd data-field="course">AI at Work</dd>' in run.text
    assert '<dd data-field="resource-link">AI readiness for everyone</dd>' in run.text
    assert '<dd data-field="module">AI readiness for everyone</dd>' in run.text


def test_instructor_lands_on_the_manager_page(lti: LtiHarness) -> None:
    lti.do_launch(LEARNER)

    run = lti.do_launch(INSTRUCTOR)

    assert_manager_page(run)
    assert "Grace Hopper" in run.text
    assert "Ada Lovelace" in run.text


def test_admin_lands_on_the_manager_page(lti: LtiHarness) -> None:
    assert_manager_page(lti.do_launch(ADMIN))


def test_login_initiation_by_get_is_accepted(lti: LtiHarness) -> None:
    assert_learner_page(lti.browser().launch(LEARNER, method="GET"))


def test_launch_records_person_course_and_launch_in_the_tenant(
    lti: LtiHarness,
) -> None:
    assert_learner_page(lti.do_launch(LEARNER))

    with session_scope() as session:
        person = session.scalar(select(Person).where(Person.sub == LEARNER.sub))
        assert person is not None
        launch = session.scalar(select(Launch).where(Launch.person_id == person.id))
        tenant = session.get(Deployment, person.tenant_id)
        assert launch is not None and tenant is not None
        assert tenant.deployment_id == "test-deployment-1"
        assert (person.name, person.email) == ("Ada Lovelace", LEARNER.email)
        assert (launch.role, launch.message_type) == (
            "learner",
            "LtiResourceLinkRequest",
        )


@pytest.mark.parametrize(
    ("roles", "page"),
    [
        (
            [ROLE_LEARNER, "http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"],
            "m",
        ),
        ([ROLE_LEARNER, ROLE_INSTRUCTOR], "m"),
        (["Learner"], "l"),
        (["Instructor"], "m"),
        (["http://example.com/roles#Wizard", "Sorcerer"], "l"),
        ([""], "l"),
        ([], "l"),
    ],
    ids=[
        "learner-mentor",
        "learner-instructor",
        "short-learner",
        "short-instructor",
        "unknown",
        "empty-string",
        "empty-list",
    ],
)
def test_role_variants_are_accepted(
    lti: LtiHarness, roles: list[str], page: str
) -> None:
    run = lti.do_launch(LEARNER, roles=roles)

    if page == "l":
        assert_learner_page(run)
    else:
        assert_manager_page(run)


@pytest.mark.parametrize(
    ("dropped", "shown"),
    [
        (("name", "given_name", "family_name"), LEARNER.email),
        (("email",), "Ada Lovelace"),
        (("name", "given_name", "family_name", "email"), "Learner " + LEARNER.sub[:8]),
    ],
    ids=["email-only", "names-only", "no-personal-data"],
)
def test_personal_data_variants_are_accepted(
    lti: LtiHarness, dropped: tuple[str, ...], shown: str
) -> None:
    run = lti.do_launch(LEARNER, **dict.fromkeys(dropped, DROP))

    assert_learner_page(run)
    assert shown in run.text


def test_launch_without_context_is_accepted(lti: LtiHarness) -> None:
    run = lti.do_launch(LEARNER, context=DROP)

    assert_learner_page(run)
    assert 'data-field="course"' not in run.text


def test_iat_three_seconds_in_the_future_is_within_leeway(lti: LtiHarness) -> None:
    now = int(time.time())
    assert_learner_page(lti.do_launch(LEARNER, iat=now + 3, exp=now + 300))


def test_unknown_deployment_is_auto_registered_when_allowed(
    lti: LtiHarness,
) -> None:
    with session_scope() as session:
        registration = session.get(Registration, lti.tool.registration_id)
        assert registration is not None
        registration.unknown_deployment_policy = UNKNOWN_DEPLOYMENT_AUTO

    run = lti.do_launch(LEARNER, deployment_id="canvas-install-2")

    assert_learner_page(run)
    with session_scope() as session:
        row = session.scalar(
            select(Deployment).where(Deployment.deployment_id == "canvas-install-2")
        )
        assert row is not None
        assert row.auto_registered
        assert row.registration_id == lti.tool.registration_id


# ------------------------------------------------------------------ rejected


def test_token_without_kid_is_rejected(lti: LtiHarness, launch_log: Any) -> None:
    run = lti.do_launch(LEARNER, headers={"kid": DROP})
    assert_rejected(run, "missing_kid", launch_log)


def test_token_with_unknown_kid_is_rejected(lti: LtiHarness, launch_log: Any) -> None:
    run = lti.do_launch(LEARNER, headers={"kid": "no-such-key"})
    assert_rejected(run, "unknown_kid", launch_log)


def test_token_with_bad_signature_is_rejected(lti: LtiHarness, launch_log: Any) -> None:
    run = lti.do_launch(LEARNER, signing_key=OTHER_KEY)
    assert_rejected(run, "bad_signature", launch_log)


def test_token_with_wrong_lti_version_is_rejected(
    lti: LtiHarness, launch_log: Any
) -> None:
    run = lti.do_launch(LEARNER, version="1.1.0")
    assert_rejected(run, "bad_lti_version", launch_log)


def test_token_without_lti_version_is_rejected(
    lti: LtiHarness, launch_log: Any
) -> None:
    run = lti.do_launch(LEARNER, version=DROP)
    assert_rejected(run, "bad_lti_version", launch_log)


def test_non_lti_jwt_is_rejected(lti: LtiHarness, launch_log: Any) -> None:
    def plain_oidc_token(auth: AuthRequest) -> str:
        now = int(time.time())
        return lti.platform.sign(
            {
                "iss": lti.platform.issuer,
                "aud": auth.params["client_id"],
                "sub": LEARNER.sub,
                "iat": now,
                "exp": now + 300,
                "nonce": auth.nonce,
                "name": LEARNER.name,
            }
        )

    assert_rejected(lti.post_id_token(plain_oidc_token), "not_lti", launch_log)


def test_malformed_token_is_rejected(lti: LtiHarness, launch_log: Any) -> None:
    run = lti.post_id_token(lambda auth: "this-is.not-a.jwt")
    assert_rejected(run, "malformed_token", launch_log)


@pytest.mark.parametrize(
    ("overrides", "claim"),
    [
        ({"iss": DROP}, "iss"),
        ({"aud": DROP}, "aud"),
        ({"sub": DROP}, "sub"),
        ({"deployment_id": DROP}, "deployment_id"),
        ({"roles": DROP}, "roles"),
        ({"claims": {CLAIM_MESSAGE_TYPE: DROP}}, "message_type"),
        ({"resource_link": {"title": "A link without an id"}}, "resource_link.id"),
        ({"resource_link": DROP}, "resource_link"),
    ],
    ids=[
        "iss",
        "aud",
        "sub",
        "deployment_id",
        "roles",
        "message_type",
        "resource_link.id",
        "resource_link",
    ],
)
def test_token_missing_a_required_claim_is_rejected(
    lti: LtiHarness, launch_log: Any, overrides: dict[str, Any], claim: str
) -> None:
    run = lti.do_launch(LEARNER, **overrides)
    assert_rejected(run, "missing_claim", launch_log, mentions=claim)


def test_expired_token_is_rejected(lti: LtiHarness, launch_log: Any) -> None:
    now = int(time.time())
    run = lti.do_launch(LEARNER, iat=now - 400, exp=now - 10)
    assert_rejected(run, "expired", launch_log)


def test_token_issued_beyond_the_leeway_in_the_future_is_rejected(
    lti: LtiHarness, launch_log: Any
) -> None:
    now = int(time.time())
    run = lti.do_launch(LEARNER, iat=now + 30, exp=now + 330)
    assert_rejected(run, "iat_in_future", launch_log)


def test_azp_outside_the_audience_is_rejected(lti: LtiHarness, launch_log: Any) -> None:
    run = lti.do_launch(LEARNER, aud="some-other-tool")
    assert_rejected(run, "wrong_audience", launch_log)


def test_several_audiences_without_azp_are_rejected(
    lti: LtiHarness, launch_log: Any
) -> None:
    client_id = lti.platform.tool.client_id
    run = lti.do_launch(LEARNER, aud=[client_id, "some-other-tool"], azp=DROP)
    assert_rejected(run, "wrong_audience", launch_log)


def test_token_for_another_client_of_the_same_lms_is_rejected(
    lti: LtiHarness, launch_log: Any
) -> None:
    """Canvas: one issuer, many client_ids; a token for client B must not finish A's login."""
    register_tool(
        lti.lms, lti.tool.url, client_id="pathwise-second-client", deployment_id="dep-b"
    )
    run = lti.do_launch(
        LEARNER, aud="pathwise-second-client", azp="pathwise-second-client"
    )
    assert_rejected(run, "wrong_audience", launch_log)


def test_unknown_issuer_is_rejected(lti: LtiHarness, launch_log: Any) -> None:
    run = lti.do_launch(LEARNER, iss="https://unknown-lms.example.com")
    assert_rejected(run, "unknown_issuer", launch_log)


def test_unknown_client_id_is_rejected(lti: LtiHarness, launch_log: Any) -> None:
    run = lti.do_launch(LEARNER, aud="unregistered-client", azp="unregistered-client")
    assert_rejected(run, "unknown_client", launch_log)


def test_login_for_an_unknown_client_id_is_rejected(
    lti: LtiHarness, launch_log: Any
) -> None:
    lti.platform.add_tool(ToolConfig.for_tool_base(lti.tool.url, client_id="stranger"))
    browser = lti.browser(client_id="stranger")
    initiation = lti.platform.start_launch(LEARNER, client_id="stranger")

    response = browser.http.post(
        initiation.login_url, data=initiation.params, timeout=15
    )

    run = LaunchRun(
        fields={}, launch_response=response, response=response, browser=browser
    )
    assert_rejected(run, "unknown_client", launch_log)


def test_unknown_deployment_is_rejected(lti: LtiHarness, launch_log: Any) -> None:
    run = lti.do_launch(LEARNER, deployment_id="not-installed-here")

    assert_rejected(run, "unknown_deployment", launch_log)
    with session_scope() as session:
        assert (
            session.scalar(
                select(Deployment).where(
                    Deployment.deployment_id == "not-installed-here"
                )
            )
            is None
        )


def test_wrong_nonce_is_rejected(lti: LtiHarness, launch_log: Any) -> None:
    run = lti.do_launch(LEARNER, nonce="a-nonce-the-tool-never-issued")
    assert_rejected(run, "bad_nonce", launch_log)


def test_missing_nonce_is_rejected(lti: LtiHarness, launch_log: Any) -> None:
    run = lti.do_launch(LEARNER, nonce=DROP)
    assert_rejected(run, "bad_nonce", launch_log)


def test_replayed_id_token_is_rejected(lti: LtiHarness, launch_log: Any) -> None:
    first = lti.do_launch(LEARNER)
    assert_learner_page(first)

    answer, final = first.browser.post_launch(first.fields)

    replay = LaunchRun(
        fields=first.fields,
        launch_response=answer,
        response=final,
        browser=first.browser,
    )
    assert_rejected(replay, "replayed_nonce", launch_log)


def test_wrong_state_is_rejected(lti: LtiHarness, launch_log: Any) -> None:
    run = lti.do_launch(LEARNER, form_changes={"state": "st-forged-state"})
    assert_rejected(run, "bad_state", launch_log)


def test_missing_state_is_rejected(lti: LtiHarness, launch_log: Any) -> None:
    run = lti.do_launch(LEARNER, form_changes={"state": DROP})
    assert_rejected(run, "missing_state", launch_log)


def test_launch_from_another_browser_than_the_login_is_rejected(
    lti: LtiHarness, launch_log: Any
) -> None:
    """The state cookie binds the launch to the browser that started the login."""
    victim = lti.browser()
    auth = victim.login(LEARNER)
    _, fields = victim.authorize(auth)

    answer, final = lti.browser().post_launch(fields)

    run = LaunchRun(
        fields=fields, launch_response=answer, response=final, browser=victim
    )
    assert_rejected(run, "bad_state", launch_log)


def test_rejections_never_leave_a_launch_behind(lti: LtiHarness) -> None:
    lti.do_launch(LEARNER, signing_key=OTHER_KEY)
    lti.do_launch(LEARNER, deployment_id="not-installed-here")

    with session_scope() as session:
        assert session.scalars(select(Launch)).all() == []


# ------------------------------------------------------- two web processes


@pytest.mark.redis
def test_login_on_one_process_and_launch_on_another_succeeds(
    settings: Settings, engine: Engine, lms: LivePlatform, redis_url: str
) -> None:
    """No launch state in process memory: two processes share only the database and Redis."""
    shared = settings.with_overrides(redis_url=redis_url)
    try:
        with running_tool(shared, engine) as (url_a, app_a):
            registration_id = register_tool(lms, url_a)
            tool_a = LiveTool(
                url=url_a,
                app=app_a,
                settings=app_a.extensions["pathwise.settings"],
                registration_id=registration_id,
            )
            with tool_process(shared, public_url=url_a) as url_b:
                there = LtiBrowser(lms, tool_a).launch(
                    LEARNER, post_to=url_b + "/lti/launch"
                )
                back = LtiBrowser(lms, tool_a).launch(
                    INSTRUCTOR, login_url=url_b + "/lti/login"
                )
                jwks_b = requests.get(url_b + "/lti/jwks", timeout=10).json()
    finally:
        truncate_all(engine)

    assert_learner_page(there)
    assert there.response.url.startswith(url_b)
    assert "Ada Lovelace" in there.text
    assert_manager_page(back)
    assert back.auth is not None
    assert back.auth.login_response.url.startswith(url_b)
    assert jwks_b["keys"]


def test_first_launch_on_a_fresh_install_succeeds(lti: LtiHarness) -> None:
    """No signing key yet: the launch creates it (a SQLite self-deadlock once hid here)."""
    with session_scope() as session:
        session.execute(delete(ToolKey))

    assert_learner_page(lti.do_launch(LEARNER))
