"""Test support for the admin console: the form's CSRF token and signing in through it."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

PASSWORD = "correct horse battery"


def csrf(html: bytes) -> str:
    """The CSRF token of the (first) form on a console page."""
    match = re.search(
        rb'name="csrf_token" type="hidden" value="([^"]+)"', html
    ) or re.search(rb'name="csrf_token" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1).decode()


def sign_in(client: FlaskClient, username: str, password: str = PASSWORD) -> None:
    """Sign in through the login form, as a browser would (CSRF token included)."""
    token = csrf(client.get("/admin/login").data)
    response = client.post(
        "/admin/login",
        data={"username": username, "password": password, "csrf_token": token},
    )
    assert response.status_code == 302
