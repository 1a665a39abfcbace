"""The URLs a platform may name: the tool's target_link_uri and its own deep-link return."""

from __future__ import annotations

import pytest

from lti_tool.infra.models import Registration
from lti_tool.lti.errors import LaunchRejected
from lti_tool.lti.link_urls import (
    LinkPolicy,
    check_return_url,
    check_target_link_uri,
    origin_of,
    platform_origins,
)

LAUNCH = "https://pathwise.example.com/lti/launch"
PROD = LinkPolicy(launch_url=LAUNCH, allow_http=False)


def registration(issuer: str, **urls: str) -> Registration:
    return Registration(
        issuer=issuer,
        client_id="c",
        auth_login_url=urls.get("auth", issuer + "/auth"),
        auth_token_url=urls.get("token", issuer + "/token"),
        key_set_url=urls.get("jwks", issuer + "/jwks"),
    )


MOODLE = registration("https://moodle.example.edu")
CANVAS = registration(
    "https://canvas.instructure.com",
    auth="https://sso.canvaslms.com/api/lti/authorize_redirect",
    token="https://sso.canvaslms.com/login/oauth2/token",
    jwks="https://sso.canvaslms.com/api/lti/security/jwks",
)


@pytest.mark.parametrize(
    "target",
    [
        LAUNCH,
        LAUNCH + "?id=42",
        "https://PATHWISE.example.com:443/lti/launch",
        LAUNCH + "#frag",
    ],
)
def test_the_tools_own_launch_url_is_a_target(target: str) -> None:
    check_target_link_uri(target, launch_url=LAUNCH)


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/lti/launch",
        "http://pathwise.example.com/lti/launch",
        "https://pathwise.example.com:8443/lti/launch",
        "https://pathwise.example.com/lti/launch/",
        "https://pathwise.example.com/admin/",
        "https://pathwise.example.com.evil.example/lti/launch",
        "https://pathwise.example.com@evil.example/lti/launch",
        "javascript:alert(1)",
        "/lti/launch",
        "",
        42,
    ],
)
def test_any_other_target_is_refused(target: object) -> None:
    with pytest.raises(LaunchRejected) as err:
        check_target_link_uri(target, launch_url=LAUNCH)
    assert err.value.code == "bad_target_link_uri"


def test_a_base_url_with_a_path_keeps_its_path() -> None:
    launch = "https://example.com/pathwise/lti/launch"
    check_target_link_uri(launch + "?x=1", launch_url=launch)
    with pytest.raises(LaunchRejected):
        check_target_link_uri("https://example.com/lti/launch", launch_url=launch)


def test_origins_are_normalised() -> None:
    assert origin_of("HTTPS://Moodle.Example.edu:443/x") == "https://moodle.example.edu"
    assert origin_of("http://127.0.0.1:5000/dev") == "http://127.0.0.1:5000"
    assert origin_of("javascript:alert(1)") is None
    assert platform_origins(CANVAS) == {
        "https://canvas.instructure.com",
        "https://sso.canvaslms.com",
    }


@pytest.mark.parametrize(
    ("reg", "url"),
    [
        (MOODLE, "https://moodle.example.edu/mod/lti/contentitem_return.php?course=2"),
        (CANVAS, "https://school.instructure.com/courses/5/deep_linking_response"),
        (CANVAS, "https://sso.canvaslms.com/deep_link"),
    ],
)
def test_return_urls_on_the_platform_are_accepted(reg: Registration, url: str) -> None:
    assert check_return_url(url, reg, policy=PROD) == url


@pytest.mark.parametrize(
    ("reg", "url"),
    [
        (MOODLE, "javascript:alert(document.domain)"),
        (MOODLE, " javascript:alert(1)"),
        (MOODLE, "jav\nascript:alert(1)"),
        (MOODLE, "data:text/html,<script>alert(1)</script>"),
        (MOODLE, "https://evil.example/return"),
        (MOODLE, "https://moodle.example.edu.evil.example/return"),
        (MOODLE, "http://moodle.example.edu/mod/lti/contentitem_return.php"),
        (MOODLE, "https://moodle.example.edu:8443/return"),
        (MOODLE, "//moodle.example.edu/return"),
        (MOODLE, None),
        (CANVAS, "https://instructure.com.evil.example/courses/5"),
        (CANVAS, "http://school.instructure.com/courses/5"),
        (registration("https://moodle.example.edu"), "https://x.instructure.com/r"),
    ],
)
def test_other_return_urls_are_refused(reg: Registration, url: object) -> None:
    with pytest.raises(LaunchRejected) as err:
        check_return_url(url, reg, policy=PROD)
    assert err.value.code == "bad_return_url"


def test_http_return_urls_only_outside_production() -> None:
    dev = registration("http://127.0.0.1:5000/dev-platform")
    url = "http://127.0.0.1:5000/dev-platform/deep-link-return"
    policy = LinkPolicy(launch_url=LAUNCH, allow_http=True)
    assert check_return_url(url, dev, policy=policy) == url
    with pytest.raises(LaunchRejected):
        check_return_url(url, dev, policy=PROD)


def test_an_operator_listed_origin_is_accepted() -> None:
    vanity = "https://canvas.example.edu/courses/5/deep_linking_response"
    with pytest.raises(LaunchRejected):
        check_return_url(vanity, CANVAS, policy=PROD)
    policy = LinkPolicy(
        launch_url=LAUNCH,
        allow_http=False,
        extra_return_origins=("https://canvas.example.edu",),
    )
    assert check_return_url(vanity, CANVAS, policy=policy) == vanity
