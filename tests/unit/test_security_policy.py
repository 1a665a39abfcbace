"""The pieces of the security headers that need no app: origins, settings, templates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from lti_tool.infra.config import Settings, SettingsError
from lti_tool.lti.frame_origins import url_origin

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://moodle.example.edu/mod/lti/auth.php", "https://moodle.example.edu"),
        ("http://127.0.0.1:5078/dev-platform", "http://127.0.0.1:5078"),
        ("HTTPS://Canvas.Instructure.com", "https://canvas.instructure.com"),
        # An issuer comes from the platform (Dynamic Registration): nothing in it may
        # reach the header but a plain origin.
        ("https://evil.test; script-src *", None),
        ("https://evil.test'unsafe-inline'", None),
        ("javascript:alert(1)", None),
        ("https://user@host:99999", None),
        ("", None),
        (None, None),
    ],
)
def test_only_plain_http_origins_reach_the_policy(
    url: str | None, origin: str | None
) -> None:
    assert url_origin(url) == origin


def _env(**values: str) -> dict[str, str]:
    return {
        "PATHWISE_SECRET_KEY": "s" * 40,
        "PATHWISE_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "PATHWISE_DATA_DIR": "/nonexistent-pathwise-test",
        **values,
    }


def test_extra_frame_ancestors_are_read_and_checked() -> None:
    env = _env(PATHWISE_FRAME_ANCESTORS="https://*.instructure.com, https://lms.test/")
    settings = Settings.from_env(env)
    assert settings.frame_ancestors == ("https://*.instructure.com", "https://lms.test")


@pytest.mark.parametrize(
    "value", ["https://lms.test/path", "lms.test", "https://a.test; script-src *", "*"]
)
def test_a_frame_ancestor_that_is_not_an_origin_is_refused(value: str) -> None:
    with pytest.raises(SettingsError, match="FRAME_ANCESTORS"):
        Settings.from_env(_env(PATHWISE_FRAME_ANCESTORS=value))


def _templates() -> list[Path]:
    return [
        *(ROOT / "lti_tool" / "templates").rglob("*.html"),
        *(ROOT / "admin" / "templates").rglob("*.html"),
    ]


def test_templates_use_no_inline_styles() -> None:
    # style-src is 'self': a style="" attribute would be silently ignored.
    offenders = [t.name for t in _templates() if re.search(r"\sstyle=", t.read_text())]
    assert offenders == []


def test_every_inline_script_in_a_template_carries_the_nonce() -> None:
    for template in _templates():
        for tag in re.findall(r"<script[^>]*>", template.read_text()):
            assert "src=" in tag or 'nonce="{{ csp_nonce() }}"' in tag, (template, tag)
