"""The admin console: sign-in, roles on every route, CSRF on forms, audit of actions,
and a tenant-bound console user's view limited to their tenant."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from admin.users import create_admin_user
from lti_tool.infra.db import db, session_scope
from lti_tool.infra.models import AuditEntry, Deployment, Launch, Registration
from tests.admin_support import csrf, sign_in
from tests.xapi_support import make_world


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


@pytest.fixture
def two_tenants(csrf_app: Flask) -> dict[str, object]:
    """Tenants A and B, a sibling deployment of A's LMS, launches, audit entries."""
    with session_scope() as s:
        alpha, beta = (
            make_world(s, deployment_id="dep-a"),
            make_world(s, people=2, deployment_id="dep-b"),
        )
        tenant_a = s.get(Deployment, alpha.tenant_id)
        assert tenant_a is not None
        s.add(Deployment(registration_id=tenant_a.registration_id, deployment_id="sib"))
        for world, count in ((alpha, 1), (beta, 2)):
            for _ in range(count):
                s.add(
                    Launch(
                        tenant_id=world.tenant_id,
                        person_id=world.people["u0"],
                        role="learner",
                        message_type="LtiResourceLinkRequest",
                    )
                )
        for tenant_id, target in (
            (alpha.tenant_id, "alpha-target"),
            (beta.tenant_id, "beta-target"),
            (None, "install-target"),
        ):
            s.add(
                AuditEntry(
                    actor="test", action="test.done", target=target, tenant_id=tenant_id
                )
            )
        create_admin_user(
            s,
            username="alpha-admin",
            password="correct horse battery",
            role="admin",
            tenant_id=alpha.tenant_id,
        )
        clients = {
            reg.id: reg.client_id for reg in s.scalars(select(Registration)).all()
        }
        return {
            "alpha": clients[tenant_a.registration_id],
            "beta": next(
                c for r, c in clients.items() if r != tenant_a.registration_id
            ),
        }


def _counts(page: bytes) -> dict[str, int]:
    return {
        label.decode(): int(value)
        for label, value in re.findall(rb"<dt>([^<]+)</dt><dd>(\d+)</dd>", page)
    }


def test_tenant_admin_sees_only_their_tenant(
    two_tenants: dict[str, str], client: FlaskClient
) -> None:
    sign_in(client, "alpha-admin")
    assert _counts(client.get("/admin/").data) == {
        "Registered platforms": 1,
        "Tenants (deployments)": 1,
        "People": 3,
        "Launches": 1,
    }
    platforms = client.get("/admin/platforms").data.decode()
    assert two_tenants["alpha"] in platforms and "dep-a" in platforms
    assert two_tenants["beta"] not in platforms
    assert "dep-b" not in platforms and "sib" not in platforms
    trail = client.get("/admin/audit").data.decode()
    assert "alpha-target" in trail and "alpha-admin" in trail
    assert "beta-target" not in trail and "install-target" not in trail


def test_install_admin_sees_every_tenant(
    two_tenants: dict[str, str], client: FlaskClient
) -> None:
    sign_in(client, "root")
    assert _counts(client.get("/admin/").data) == {
        "Registered platforms": 2,
        "Tenants (deployments)": 3,
        "People": 5,
        "Launches": 3,
    }
    platforms = client.get("/admin/platforms").data.decode()
    assert two_tenants["alpha"] in platforms and two_tenants["beta"] in platforms
    # Each deployment with the tenant id that --tenant and the console forms take.
    assert re.search(r"tenant \d+: dep-a; tenant \d+: sib", platforms)
    assert re.search(r"tenant \d+: dep-b", platforms)
    trail = client.get("/admin/audit").data.decode()
    for target in ("alpha-target", "beta-target", "install-target"):
        assert target in trail
