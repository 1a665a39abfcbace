"""Development LMS (web): serving the platform, on its own port or inside a host app."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask

from lti_tool.devplatform.keys import fetch_json_over_http
from lti_tool.devplatform.platform import DevPlatform
from lti_tool.devplatform.views import EXTENSION, PlatformHolder, bp


def create_platform_app(platform: DevPlatform) -> Flask:
    """A standalone web app serving only the platform (tests run it on its own port)."""
    app = Flask(__name__)
    app.extensions[EXTENSION] = PlatformHolder(lambda: platform)
    app.register_blueprint(bp)
    return app


def mount_platform(app: Flask, build: Callable[[], DevPlatform]) -> None:
    """Serve the platform inside ``app`` (the demo), built by ``build`` on first use."""
    app.extensions[EXTENSION] = PlatformHolder(build)
    app.register_blueprint(bp)


def in_process_fetcher(app: Flask, base_url: str) -> Callable[[str], dict[str, Any]]:
    """Fetch the tool's JWKS through the app itself when both share an origin.

    In the demo the platform and the tool are one server; an HTTP call to itself
    from inside a request would deadlock a single-worker server.
    """

    def fetch(url: str) -> dict[str, Any]:
        if not url.startswith(base_url + "/"):
            return fetch_json_over_http(url)
        response = app.test_client().get(url[len(base_url) :])
        if response.status_code != 200:
            raise ValueError(f"{url} answered {response.status_code}")
        data = response.get_json()
        if not isinstance(data, dict):
            raise ValueError(f"{url} did not return a JSON object")
        return data

    return fetch
