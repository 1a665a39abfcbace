"""An LMS that refuses the login posts an OIDC error instead of an id_token."""

from __future__ import annotations

import logging

import pytest
from flask.testing import FlaskClient


def test_platform_error_is_shown_and_logged(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="pathwise.launch")
    response = client.post(
        "/lti/launch",
        data={
            "error": "access_denied",
            "error_description": "No session",
            "state": "st-x",
        },
    )
    assert response.status_code == 400
    assert b'data-reason="platform_error"' in response.data
    assert b"access_denied No session" in response.data
    lines = [r.getMessage() for r in caplog.records if r.name == "pathwise.launch"]
    assert len(lines) == 1 and lines[0].startswith("launch rejected: platform_error")
