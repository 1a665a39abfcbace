"""The guarded outbound client: internal addresses refused in production, pinned,
redirects checked, answers capped, and no proxy from the environment."""

from __future__ import annotations

import socket
from typing import Any

import pytest
import requests
from flask import Flask, redirect

from lti_tool.infra.config import Settings, SettingsError
from lti_tool.infra.outbound import (
    GuardedSession,
    OutboundPolicy,
    OutboundRefused,
    describe_failure,
)
from tests.support_http import serve_in_thread

PRODUCTION = OutboundPolicy(guard_internal=True)


def make_server() -> Flask:
    app = Flask("peer")

    @app.get("/ok")
    def ok() -> Any:
        return {"ok": True}

    @app.get("/to-localhost")
    def to_localhost() -> Any:
        port = app.config["PORT"]
        return redirect(f"http://localhost:{port}/ok")

    @app.get("/big")
    def big() -> Any:
        return "x" * 5000

    return app


@pytest.fixture
def peer() -> Any:
    app = make_server()
    with serve_in_thread(app) as base:
        app.config["PORT"] = base.rsplit(":", 1)[1]
        yield base


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "localhost",
        "[::1]",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104 - the address under test
        "224.0.0.1",
        "[fd00::1]",
        "[::ffff:127.0.0.1]",
    ],
)
def test_production_refuses_internal_addresses(host: str) -> None:
    with pytest.raises(OutboundRefused, match="Pathwise does not fetch internal"):
        GuardedSession(PRODUCTION).get(f"http://{host}:9/x", timeout=2)


def test_a_name_resolving_to_loopback_is_refused(peer: str) -> None:
    port = peer.rsplit(":", 1)[1]
    with pytest.raises(OutboundRefused, match=r"localhost resolves to a loopback"):
        GuardedSession(PRODUCTION).get(f"http://localhost:{port}/ok")


def test_one_internal_answer_among_public_ones_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A rebinding name answers public, then internal: the address connected to is
    the address checked, and any internal answer refuses the name."""

    def answers(*args: Any, **kwargs: Any) -> list[Any]:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", 80)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 80)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", answers)
    with pytest.raises(OutboundRefused, match="rebind.example resolves to a loopback"):
        GuardedSession(PRODUCTION).get("http://rebind.example/x")


def test_an_allowlisted_host_passes(peer: str) -> None:
    allowed = OutboundPolicy(guard_internal=True, allow_hosts=frozenset({"127.0.0.1"}))
    assert GuardedSession(allowed).get(peer + "/ok").json() == {"ok": True}


def test_a_redirect_to_loopback_is_refused(peer: str) -> None:
    allowed = OutboundPolicy(guard_internal=True, allow_hosts=frozenset({"127.0.0.1"}))
    with pytest.raises(OutboundRefused, match="localhost resolves to a loopback"):
        GuardedSession(allowed).get(peer + "/to-localhost")


def test_development_reaches_loopback_but_never_metadata(peer: str) -> None:
    development = OutboundPolicy(guard_internal=False)
    assert GuardedSession(development).get(peer + "/ok").status_code == 200
    with pytest.raises(OutboundRefused, match="cloud metadata"):
        GuardedSession(development).get("http://169.254.169.254/latest", timeout=2)


def test_answers_are_capped(peer: str) -> None:
    small = OutboundPolicy(guard_internal=False, max_response_bytes=1024)
    with pytest.raises(OutboundRefused, match="more than 1 KiB"):
        GuardedSession(small).get(peer + "/big")


def test_proxies_from_the_environment_are_ignored(
    peer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "")
    session = GuardedSession(OutboundPolicy(guard_internal=False))
    assert session.get(peer + "/ok").status_code == 200


def test_failures_are_named_without_the_remote_text() -> None:
    response = requests.Response()
    response.status_code = 404
    response._content = b'{"secret": "internal"}'
    error = requests.HTTPError("404 Client Error: internal", response=response)
    text = describe_failure("https://lms.example/openid", error)
    assert text == "lms.example answered 404."


def test_the_allowlist_setting_is_validated(tmp_path: Any) -> None:
    base = {"PATHWISE_DATA_DIR": str(tmp_path), "PATHWISE_SECRET_KEY": "s" * 40}
    base["PATHWISE_ENCRYPTION_KEY"] = "A" * 43 + "="
    settings = Settings.from_env(
        {**base, "PATHWISE_OUTBOUND_ALLOW_HOSTS": "LRS.internal, 10.0.0.5,[::1]"}
    )
    assert settings.outbound_allow_hosts == ("lrs.internal", "10.0.0.5", "::1")
    with pytest.raises(SettingsError, match="OUTBOUND_ALLOW_HOSTS"):
        Settings.from_env(
            {**base, "PATHWISE_OUTBOUND_ALLOW_HOSTS": "https://lrs.internal/xapi"}
        )
