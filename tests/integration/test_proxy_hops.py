"""Behind a TLS proxy the client address comes from the trusted hop, never from a forged one."""

from __future__ import annotations

from pathlib import Path

from flask import request

from lti_tool.app import create_app
from tests.support_env import make_test_settings


def _seen_address(tmp_path: Path, hops: int, headers: dict[str, str]) -> str:
    app = create_app(make_test_settings(tmp_path, proxy_hops=hops))

    @app.get("/_whoami")
    def whoami() -> str:
        return f"{request.remote_addr} {request.scheme}"

    return (
        app.test_client()
        .get("/_whoami", headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.5"})
        .get_data(as_text=True)
    )


def test_forwarded_headers_are_ignored_without_configured_hops(tmp_path: Path) -> None:
    seen = _seen_address(
        tmp_path, 0, {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    )
    assert seen == "10.0.0.5 http"


def test_one_hop_takes_the_client_the_proxy_saw(tmp_path: Path) -> None:
    # A client's own forged X-Forwarded-For comes first; the proxy appends the real one.
    seen = _seen_address(
        tmp_path,
        1,
        {"X-Forwarded-For": "198.51.100.1, 203.0.113.7", "X-Forwarded-Proto": "https"},
    )
    assert seen == "203.0.113.7 https"
