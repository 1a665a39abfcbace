"""The admin console: sign-in, roles on every route, CSRF on forms, audit of actions."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from admin.users import create_admin_user
from lti_tool.infra.db import db, session_scope
from lti_tool.infra.models import AuditEntry, Registration
from tests.admin_support import csrf, sign_in


@pytest.fixture
def csrf_app(app: Flask) -> Flask:
    app.config["WTF_CSRF_ENABLED"] = True
    with session_scope() as s:
        create_admin_user(
            s, username="root", password="correct horse battery", role="admin"
        )
        create_admin_user(
            s, username="writer", password="correct horse battery", role="author"
        )
    return app


def test_console_requires_sign_in(csrf_app: Flask, client: FlaskClient) -> None:
    for path in ("/admin/", "/admin/platforms", "/admin/keys", "/admin/audit"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/admin/login" in response.headers["Location"]


def test_wrong_password_is_refused(csrf_app: Flask, client: FlaskClient) -> None:
    token = csrf(client.get("/admin/login").data)
    response = client.post(
        "/admin/login",
        data={"username": "root", "password": "nope", "csrf_token": token},
    )
    assert response.status_code == 200
    assert b"Wrong username or password" in response.data


def test_authors_cannot_reach_admin_pages(csrf_app: Flask, client: FlaskClient) -> None:
    sign_in(client, "writer")
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/platforms").status_code == 403


def test_platform_form_needs_csrf_and_is_audited(
    csrf_app: Flask, client: FlaskClient
) -> None:
    sign_in(client, "root")
    fields = {
        "platform_kind": "moodle",
        "name": "Acme Moodle",
        "issuer": "https://moodle.acme.test",
        "client_id": "abc123",
        "deployment_id": "1",
        "auth_login_url": "https://moodle.acme.test/mod/lti/auth.php",
        "auth_token_url": "https://moodle.acme.test/mod/lti/token.php",
        "key_set_url": "https://moodle.acme.test/mod/lti/certs.php",
        "unknown_deployment_policy": "reject",
    }
    without = client.post("/admin/platforms", data=fields)
    assert without.status_code == 400  # CSRF token missing: refused, nothing saved
    with db.session() as s:
        assert s.scalar(select(Registration)) is None
    token = csrf(client.get("/admin/platforms").data)
    saved = client.post("/admin/platforms", data={**fields, "csrf_token": token})
    assert saved.status_code == 302
    page = client.get("/admin/platforms").data
    assert b"moodle.acme.test" in page and b"/lti/jwks" in page
    with db.session() as s:
        reg = s.scalar(select(Registration))
        assert reg is not None and reg.client_id == "abc123"
        actions = s.scalars(select(AuditEntry.action)).all()
        assert "registration.created" in actions and "console.login" in actions


def test_key_rotation_keeps_old_key_published(
    csrf_app: Flask, client: FlaskClient
) -> None:
    first = client.get("/lti/jwks").json["keys"]
    sign_in(client, "root")
    token = csrf(client.get("/admin/keys").data)
    assert client.post("/admin/keys", data={"csrf_token": token}).status_code == 302
    token = csrf(client.get("/admin/keys").data)
    assert client.post("/admin/keys", data={"csrf_token": token}).status_code == 302
    keys = client.get("/lti/jwks").json["keys"]
    assert len(keys) == len(first) + 2
    assert all(k["alg"] == "RS256" and k["use"] == "sig" for k in keys)
