"""Composition root: the development LMS mounted in the tool app, built from Settings.

The platform package knows nothing of the tool; this module gives it the tool's
base URL, a key file in the data directory, a same-origin JWKS fetcher and the
callback that registers it in the tool's database on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask

from lti_tool.devplatform.app import in_process_fetcher, mount_platform
from lti_tool.devplatform.keys import fetch_json_over_http, load_or_create_key
from lti_tool.devplatform.model import ToolConfig
from lti_tool.devplatform.platform import DevPlatform
from lti_tool.devplatform.vocabulary import KEY_FILE
from lti_tool.infra.config import Settings
from lti_tool.lti.dev_registration import dev_platform_issuer, ensure_dev_registration
from lti_tool.web.transaction import request_session


def dev_platform_from_settings(
    settings: Settings,
    *,
    fetch_json: Callable[[str], dict[str, Any]] = fetch_json_over_http,
    register_with_tool: Callable[[], None] | None = None,
) -> DevPlatform:
    """The demo's platform: issuer under the tool's base URL, key in the data dir."""
    platform = DevPlatform(
        dev_platform_issuer(settings),
        key=load_or_create_key(Path(settings.data_dir) / KEY_FILE),
        fetch_json=fetch_json,
        register_with_tool=register_with_tool,
    )
    platform.add_tool(ToolConfig.for_tool_base(settings.base_url))
    return platform


def init_dev_platform(app: Flask, settings: Settings) -> None:
    """Serve the development LMS at /dev-platform/ inside the tool app (the demo)."""
    base_url = settings.base_url.rstrip("/")

    def register_with_tool() -> None:
        # Idempotent, in the request's transaction: the demo needs no set-up step.
        ensure_dev_registration(request_session(), settings)

    def build() -> DevPlatform:
        return dev_platform_from_settings(
            settings,
            fetch_json=in_process_fetcher(app, base_url),
            register_with_tool=register_with_tool,
        )

    mount_platform(app, build)
