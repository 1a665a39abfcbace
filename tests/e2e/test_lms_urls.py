"""What Pathwise hands an LMS: every URL answers, and Moodle gets grades and roster.

The URLs are collected, not listed: from the Dynamic Registration request a real HTTP
platform receives, from the Canvas developer-key JSON and from the console's
platforms page. Static ones are fetched; login and launch URLs carry a real signed
launch from the development LMS; the registration URL is the registration itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import Flask, jsonify, request

from admin.users import create_admin_user
from lti_tool.devplatform.model import INSTRUCTOR, LEARNER
from lti_tool.devplatform.vocabulary import MESSAGE_DEEP_LINKING
from lti_tool.infra.db import session_scope
from lti_tool.lti.registration import make_invitation
from tests.admin_support import PASSWORD, csrf
from tests.lti_platform import LtiHarness, assert_learner_page
from tests.support_http import serve_in_thread

REG_TOKEN = "url-walk-token"
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"


def _registering_lms(received: list[dict[str, Any]]) -> Flask:
    """The least of a platform that takes a Dynamic Registration (as Moodle answers)."""
    lms = Flask("registering_lms")

    @lms.get("/.well-known/openid-configuration")
    def configuration() -> Any:
        base = request.host_url.rstrip("/")
        return jsonify(
            {
                "issuer": base,
                "authorization_endpoint": base + "/auth",
                "token_endpoint": base + "/token",
                "jwks_uri": base + "/jwks",
                "registration_endpoint": base + "/register",
                "https://purl.imsglobal.org/spec/lti-platform-configuration": {
                    "product_family_code": "moodle",
                    "version": "4.5",
                },
            }
        )

    @lms.post("/register")
    def register() -> Any:
        body = request.get_json()
        received.append(body)
        return jsonify(
            {
                **body,
                "client_id": "url-walk-client",
                TOOL_CONFIGURATION: {**body[TOOL_CONFIGURATION], "deployment_id": "9"},
            }
        )

    return lms


# Scope values are names that look like URLs; nothing fetches them.
NOT_URLS = {"scope", "scopes"}


def _urls(value: Any) -> Iterator[str]:
    """Every absolute http(s) URL anywhere in a JSON value (scope names aside)."""
    if isinstance(value, str):
        if value.startswith(("http://", "https://")):
            yield value
    elif isinstance(value, dict):
        for name, item in value.items():
            if name not in NOT_URLS:
                yield from _urls(item)
    elif isinstance(value, list):
        for item in value:
            yield from _urls(item)


def _console_values(tool_url: str) -> set[str]:
    """The URLs the console's platforms page tells an LMS admin to paste."""
    with session_scope() as session:
        create_admin_user(session, username="url-walker", password=PASSWORD)
    http = requests.Session()
    form = http.get(tool_url + "/admin/login", timeout=15)
    signed_in = http.post(
        tool_url + "/admin/login",
        data={
            "username": "url-walker",
            "password": PASSWORD,
            "csrf_token": csrf(form.content),
        },
        allow_redirects=False,
        timeout=15,
    )
    assert signed_in.status_code == 302, signed_in.text[:500]
    page = http.get(tool_url + "/admin/platforms", timeout=15)
    assert page.status_code == 200
    return set(re.findall(r"<code[^>]*>(https?://[^<]+)</code>", page.text))


def _register(lti: LtiHarness) -> tuple[requests.Response, dict[str, Any]]:
    """Dynamic Registration from the live tool: its answer, and what the LMS got."""
    received: list[dict[str, Any]] = []
    invite = make_invitation(lti.tool.settings, created_by="url-walker")
    with serve_in_thread(_registering_lms(received)) as lms_base:
        registered = requests.get(
            lti.tool.url + "/lti/register",
            params={
                "openid_configuration": lms_base + "/.well-known/openid-configuration",
                "registration_token": REG_TOKEN,
                "invite": invite,
            },
            timeout=30,
        )
    assert registered.status_code == 200, registered.text[:800]
    return registered, received[0]


def test_registration_asks_for_what_moodle_maps_to_grades_and_roster(
    lti: LtiHarness,
) -> None:
    """Moodle's registration_helper::registration_to_config reads these fields."""
    page, body = _register(lti)
    scopes = body["scope"].split()
    tool = body[TOOL_CONFIGURATION]

    # lineitem scope: "Accept grades" delegated, grade sync "line items and grades".
    assert "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem" in scopes
    assert "https://purl.imsglobal.org/spec/lti-ags/scope/score" in scopes
    # Names and Roles scope: membership service on.
    assert (
        "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
        in scopes
    )
    # Claims: Moodle then always shares the launcher's name and email.
    assert {"name", "given_name", "family_name", "email"} <= set(tool["claims"])
    # A deep-linking message: "Supports Deep Linking" on, with its URL.
    assert any(
        m["type"] == "LtiDeepLinkingRequest" and m["target_link_uri"]
        for m in tool["messages"]
    )
    assert body["logo_uri"].endswith("/static/logo.png")
    assert tool["description"]
    # The page stays until the admin closes it (Moodle closes on the message).
    assert 'id="close-registration"' in page.text
    script = page.text.split('addEventListener("click"', 1)
    assert len(script) == 2 and "org.imsglobal.lti.close" in script[1]
    assert "org.imsglobal.lti.close" not in script[0]


def test_every_url_handed_to_an_lms_answers(lti: LtiHarness) -> None:
    tool = lti.tool
    _, registration = _register(lti)
    canvas = requests.get(tool.url + "/lti/canvas.json", timeout=15)
    assert canvas.status_code == 200

    urls = {
        *_urls(registration),
        *_urls(canvas.json()),
        *_console_values(tool.url),
    }
    ours = {url for url in urls if url.startswith(tool.url + "/")}
    assert ours == urls, f"URLs on another host: {urls - ours}"
    paths = {urlsplit(url).path for url in ours}
    assert paths == {
        "/lti/login",
        "/lti/launch",
        "/lti/jwks",
        "/lti/canvas.json",
        "/static/logo.png",
    }, paths

    for url in ours:
        path = urlsplit(url).path
        if path == "/lti/login":
            run = lti.browser().launch(LEARNER, login_url=url)
            assert_learner_page(run)
        elif path == "/lti/launch":
            learner = lti.browser().launch(LEARNER, post_to=url)
            assert_learner_page(learner)
            picker = lti.browser().launch(
                INSTRUCTOR, message_type=MESSAGE_DEEP_LINKING, post_to=url
            )
            assert picker.status == 200, picker.text[:800]
        else:
            answer = requests.get(url, timeout=15)
            assert answer.status_code == 200, (url, answer.status_code)
            expected = {
                "/lti/jwks": "application/json",
                "/lti/canvas.json": "application/json",
                "/static/logo.png": "image/png",
            }[path]
            assert answer.headers["Content-Type"].startswith(expected), url
    svg = requests.get(tool.url + "/static/logo.svg", timeout=15)
    assert svg.status_code == 200
    assert svg.headers["Content-Type"].startswith("image/svg+xml")
