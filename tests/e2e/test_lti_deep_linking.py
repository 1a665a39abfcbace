"""End-to-end Deep Linking: an instructor picks a module, the LMS verifies the signed response."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urljoin

import jwt
import pytest

from lti_tool.devplatform.model import ADMIN, INSTRUCTOR, LEARNER, SampleUser
from lti_tool.devplatform.vocabulary import (
    CLAIM_DL_CONTENT_ITEMS,
    CLAIM_MESSAGE_TYPE,
    MESSAGE_DEEP_LINKING,
)
from lti_tool.infra.db import session_scope
from tests.factories import make_framework, make_module
from tests.live_servers import LiveTool
from tests.lti_browser import parse_form
from tests.lti_platform import LtiHarness


@pytest.fixture
def modules(live_tool: LiveTool) -> Iterator[dict[str, int]]:
    """Two modules in the shared catalogue."""
    with session_scope() as session:
        framework = make_framework(session, "demo-data", name="Data skills")
        found = {}
        for key, title in (
            ("data-literacy", "Data literacy for analysts"),
            ("sql-basics", "SQL basics"),
        ):
            found[key] = make_module(session, framework, key=key, title=title).id
    yield found


def pick_and_return(
    lti: LtiHarness, module_ids: list[int], *, user: SampleUser = INSTRUCTOR
) -> tuple[str, dict[str, str], str]:
    """Deep-linking launch, module choice; return (LMS return URL, posted fields, JWT)."""
    run = lti.do_launch(user, message_type=MESSAGE_DEEP_LINKING)
    assert run.status == 200, run.text[:2000]
    action, fields = parse_form(run.text)
    picked = [("lt", fields["lt"]), ("picker_token", fields["picker_token"])] + [
        ("module_id", str(i)) for i in module_ids
    ]
    answer = run.browser.http.post(
        urljoin(run.response.url, action), data=picked, timeout=30
    )
    assert answer.status_code == 200, answer.text[:2000]
    return_url, returned = parse_form(answer.text)
    return return_url, returned, returned["JWT"]


def test_instructor_sees_the_module_picker(
    lti: LtiHarness, modules: dict[str, int]
) -> None:
    run = lti.do_launch(INSTRUCTOR, message_type=MESSAGE_DEEP_LINKING)

    assert run.status == 200, run.text[:2000]
    # The picker comes in the launch's own response: no URL carries the token.
    assert run.response.url.endswith("/lti/launch")
    assert run.launch_response.status_code == 200
    assert 'data-page-url="/app/deep-link"' in run.text
    assert "Data literacy for analysts" in run.text
    assert "SQL basics" in run.text


def test_deep_link_response_is_accepted_by_the_lms_and_adds_graded_links(
    lti: LtiHarness, modules: dict[str, int]
) -> None:
    return_url, fields, token = pick_and_return(
        lti, [modules["data-literacy"], modules["sql-basics"]]
    )
    assert return_url == lti.platform.deep_link_return_url

    page = lti.browser().http.post(return_url, data=fields, timeout=30)

    assert page.status_code == 200, page.text
    assert 'data-items="2"' in page.text
    received = lti.platform.deep_link_returns[-1]
    assert received.deployment_id == "test-deployment-1"
    assert [i["custom"]["pathwise_module"] for i in received.content_items] == [
        "data-literacy",
        "sql-basics",
    ]
    links = [lti.platform.links[link_id] for link_id in received.created_links]
    assert [link.title for link in links] == [
        "Data literacy for analysts",
        "SQL basics",
    ]
    for link in links:
        assert link.lineitem_id is not None
        assert lti.platform.lineitems[link.lineitem_id].score_maximum == 100
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims[CLAIM_MESSAGE_TYPE] == "LtiDeepLinkingResponse"
    assert len(claims[CLAIM_DL_CONTENT_ITEMS]) == 2


def test_a_deep_linked_module_is_what_the_learner_then_launches(
    lti: LtiHarness, modules: dict[str, int]
) -> None:
    return_url, fields, _ = pick_and_return(lti, [modules["sql-basics"]])
    lti.browser().http.post(return_url, data=fields, timeout=30)
    new_link = lti.platform.deep_link_returns[-1].created_links[0]

    run = lti.browser().launch(LEARNER, link_id=new_link)

    assert run.status == 200, run.text[:2000]
    assert '<dd data-field="module">SQL basics</dd>' in run.text
    assert '<dd data-field="resource-link">SQL basics</dd>' in run.text


def test_deep_link_response_cannot_be_replayed_at_the_lms(
    lti: LtiHarness, modules: dict[str, int]
) -> None:
    return_url, fields, _ = pick_and_return(lti, [modules["data-literacy"]])
    http = lti.browser().http
    first = http.post(return_url, data=fields, timeout=30)

    again = http.post(return_url, data=fields, timeout=30)

    assert first.status_code == 200
    assert again.status_code == 400
    assert 'data-error="replayed_nonce"' in again.text


def test_admin_can_deep_link(lti: LtiHarness, modules: dict[str, int]) -> None:
    return_url, fields, _ = pick_and_return(lti, [modules["data-literacy"]], user=ADMIN)

    page = lti.browser().http.post(return_url, data=fields, timeout=30)

    assert page.status_code == 200, page.text


def test_learner_cannot_deep_link(lti: LtiHarness, modules: dict[str, int]) -> None:
    run = lti.do_launch(LEARNER, message_type=MESSAGE_DEEP_LINKING)

    assert run.status == 403
    assert 'data-reason="forbidden"' in run.text
    assert lti.platform.deep_link_returns == []


def test_deep_linking_request_without_return_url_is_rejected(
    lti: LtiHarness, modules: dict[str, int]
) -> None:
    run = lti.do_launch(
        INSTRUCTOR,
        message_type=MESSAGE_DEEP_LINKING,
        deep_linking_settings={"accept_types": ["ltiResourceLink"]},
    )

    assert run.status == 400
    assert 'data-reason="missing_claim"' in run.text
