"""Where "open in a new window" goes: Moodle's activity page, the login again, or nowhere."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

from lti_tool.lti.relaunch import new_window_launch

MOODLE = "https://moodle.example.com"
LOGIN = "https://pathwise.example.com/lti/login"


def _login(hint: str, **extra: str) -> dict[str, str]:
    return {
        "iss": MOODLE,
        "login_hint": "7",
        "target_link_uri": "https://pathwise.example.com/lti/launch",
        "lti_message_hint": hint,
        **extra,
    }


def test_a_moodle_resource_launch_reopens_moodles_activity_page() -> None:
    hint = json.dumps({"cmid": 42, "launchid": "ltilaunch3_1234"})
    relaunch = new_window_launch(
        issuer=MOODLE + "/", login_params=_login(hint), tool_login_url=LOGIN
    )
    assert relaunch.fresh_from_lms
    assert relaunch.url == MOODLE + "/mod/lti/launch.php?id=42&triggerview=0"


def test_a_moodle_deep_linking_hint_has_no_page_to_reopen() -> None:
    hint = json.dumps({"launchid": "ltilaunch_LtiDeepLinkingRequest99"})
    relaunch = new_window_launch(
        issuer=MOODLE, login_params=_login(hint), tool_login_url=LOGIN
    )
    assert relaunch.url is None
    assert not relaunch.fresh_from_lms


def test_a_course_module_that_is_not_a_number_is_not_put_in_a_url() -> None:
    hint = json.dumps({"cmid": "1&id=2", "launchid": "ltilaunch3_1"})
    relaunch = new_window_launch(
        issuer=MOODLE, login_params=_login(hint), tool_login_url=LOGIN
    )
    assert relaunch.url is None


def test_another_platform_gets_its_login_again_without_platform_storage() -> None:
    params = _login("opaque-canvas-jwt", lti_storage_target="post_message_forwarding")
    relaunch = new_window_launch(
        issuer="https://canvas.instructure.com",
        login_params=params,
        tool_login_url=LOGIN,
    )
    assert relaunch.url is not None and not relaunch.fresh_from_lms
    parts = urlsplit(relaunch.url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == LOGIN
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["lti_message_hint"] == "opaque-canvas-jwt"
    assert "lti_storage_target" not in query
