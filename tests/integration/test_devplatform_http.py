"""The development LMS over HTTP (its Flask app through a test client): JWKS, token, AGS, NRPS, demo pages."""

from __future__ import annotations

import json

import pytest

from lti_tool.devplatform.app import create_platform_app
from lti_tool.devplatform.model import ToolConfig
from lti_tool.devplatform.platform import DevPlatform
from lti_tool.devplatform.vocabulary import (
    MEDIA_SCORE,
    SCOPE_NRPS,
    SCOPE_RESULT_READONLY,
    SCOPE_SCORE,
)
from tests.devplatform_support import (
    COURSE,
    ISSUER,
    TOOL_BASE,
    TOOL_KEY,
    FakeToolJwks,
    auth_params,
    bearer,
    client_assertion,
    graded_lineitem_id,
    make_dev_platform,
    score,
    token_form,
)


@pytest.fixture
def platform() -> DevPlatform:
    return make_dev_platform(FakeToolJwks(TOOL_KEY))


def test_http_endpoints_serve_jwks_tokens_scores_and_results(
    platform: DevPlatform,
) -> None:
    client = create_platform_app(platform).test_client()
    item = graded_lineitem_id(platform)
    item_path = f"/dev-platform/ags/{COURSE}/lineitems/{item}"

    keys = client.get("/dev-platform/jwks").get_json()["keys"]
    token = client.post(
        "/dev-platform/token",
        data=token_form(
            client_assertion(platform), f"{SCOPE_SCORE} {SCOPE_RESULT_READONLY}"
        ),
    )
    headers = {"Authorization": "Bearer " + token.get_json()["access_token"]}
    posted = client.post(
        item_path + "/scores",
        data=json.dumps(score()),
        headers={**headers, "Content-Type": MEDIA_SCORE},
    )
    again = client.post(
        item_path + "/scores",
        data=json.dumps(score()),
        headers={**headers, "Content-Type": MEDIA_SCORE},
    )
    results = client.get(item_path + "/results", headers=headers)
    lineitems = client.get(f"/dev-platform/ags/{COURSE}/lineitems", headers=headers)

    assert keys[0]["kid"] == platform.kid
    assert token.status_code == 200
    assert posted.status_code == 204
    assert again.status_code == 409
    assert again.get_json()["error"] == "conflict"
    assert results.mimetype == "application/vnd.ims.lis.v2.resultcontainer+json"
    assert results.get_json()[0]["resultScore"] == pytest.approx(70.0)
    assert lineitems.status_code == 403


def test_http_token_errors_follow_oauth(platform: DevPlatform) -> None:
    client = create_platform_app(platform).test_client()
    answer = client.post(
        "/dev-platform/token",
        data=token_form(client_assertion(platform, aud="https://elsewhere.test")),
    )

    assert answer.status_code == 401
    assert answer.get_json()["error"] == "invalid_client"


def test_http_auth_posts_the_id_token_or_shows_a_readable_error(
    platform: DevPlatform,
) -> None:
    client = create_platform_app(platform).test_client()

    good = client.get("/dev-platform/auth", query_string=auth_params(platform))
    bad = client.get(
        "/dev-platform/auth",
        query_string=auth_params(platform, redirect_uri=TOOL_BASE + "/elsewhere"),
    )

    page = good.get_data(as_text=True)
    assert good.status_code == 200
    assert f'action="{TOOL_BASE}/lti/launch"' in page
    assert 'name="id_token"' in page
    assert 'name="state" value="state-1"' in page
    assert bad.status_code == 400
    assert 'data-error="invalid_redirect_uri"' in bad.get_data(as_text=True)


def test_http_memberships_page_with_link_headers(platform: DevPlatform) -> None:
    client = create_platform_app(platform).test_client()
    headers = {"Authorization": bearer(platform, SCOPE_NRPS)}
    url = f"/dev-platform/nrps/{COURSE}/memberships"

    first = client.get(url, query_string={"limit": 2}, headers=headers)
    next_url = first.headers["Link"].split(">")[0].lstrip("<")
    second = client.get(next_url, headers=headers)

    assert len(first.get_json()["members"]) == 2
    assert len(second.get_json()["members"]) == 1
    assert "Link" not in second.headers


def test_demo_pages_render_accessible_controls(platform: DevPlatform) -> None:
    client = create_platform_app(platform).test_client()
    platform.post_score(COURSE, graded_lineitem_id(platform), score(), MEDIA_SCORE)

    index = client.get("/dev-platform/").get_data(as_text=True)
    launch = client.post(
        "/dev-platform/launch", data={"user": "learner", "link": "dev-link-ai-everyone"}
    )
    activity = client.get("/dev-platform/activity").get_data(as_text=True)

    assert '<label for="link">' in index
    assert 'name="tool-frame"' in index
    assert 'formtarget="_blank"' in index
    assert 'value="deep_link"' in index
    assert f'action="{TOOL_BASE}/lti/login"' in launch.get_data(as_text=True)
    assert "Ada Lovelace" in activity
    assert "7 / 10" in activity


def test_course_page_and_launch_call_the_registration_callback() -> None:
    calls: list[str] = []
    lms = DevPlatform(
        ISSUER,
        fetch_json=FakeToolJwks(TOOL_KEY),
        register_with_tool=lambda: calls.append("x"),
    )
    lms.add_tool(ToolConfig.for_tool_base(TOOL_BASE))
    client = create_platform_app(lms).test_client()

    client.get("/dev-platform/")
    client.post(
        "/dev-platform/launch", data={"user": "learner", "link": "dev-link-ai-everyone"}
    )
    client.get("/dev-platform/jwks")

    assert calls == ["x", "x"]
