"""A tenant-bound console admin acts only inside their tenant (issue 13, #3 and #4).

Install-wide actions (signing keys, registration invitations, other platforms'
registrations) need an install admin; another tenant's evidence rules are not
readable through ``?tenant=``.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from admin.users import create_admin_user
from lti_tool.infra.db import db, session_scope
from lti_tool.infra.models import AuditEntry, Deployment, Registration, ToolKey
from lti_tool.lti.keys import rotate_signing_key
from tests.admin_support import PASSWORD, csrf, try_sign_in
from tests.xapi_support import make_world
from xapi.rule_store import import_rules


@pytest.fixture
def tenants(app: Flask) -> dict[str, Any]:
    """Tenants alpha and beta (each its own registration), their admins, root."""
    app.config["WTF_CSRF_ENABLED"] = True
    with session_scope() as s:
        alpha, beta = (
            make_world(s, deployment_id="dep-a"),
            make_world(s, deployment_id="dep-b"),
        )
        rotate_signing_key(s, grace_days=7)
        create_admin_user(s, username="root", password=PASSWORD, role="admin")
        create_admin_user(
            s,
            username="alpha-admin",
            password=PASSWORD,
            role="admin",
            tenant_id=alpha.tenant_id,
        )
        import_rules(
            s,
            tenant_id=beta.tenant_id,
            document='[{"key": "beta-secret-rule", "skills": ["sql"]}]',
            actor="test",
        )
        registrations = {
            name: s.get(Deployment, world.tenant_id).registration  # type: ignore[union-attr]
            for name, world in (("alpha", alpha), ("beta", beta))
        }
        return {
            "alpha": alpha.tenant_id,
            "beta": beta.tenant_id,
            "beta_client": registrations["beta"].client_id,
            "alpha_client": registrations["alpha"].client_id,
            "issuer": registrations["beta"].issuer,
        }


def _client(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    assert try_sign_in(client, username)[0] == 302
    return client


def _platform_form(
    tenants: dict[str, Any], client_id: str, **overrides: str
) -> dict[str, str]:
    issuer = tenants["issuer"]
    return {
        "platform_kind": "moodle",
        "name": "Hijacked",
        "issuer": issuer,
        "client_id": client_id,
        "deployment_id": "",
        "auth_login_url": "https://evil.test/auth",
        "auth_token_url": "https://evil.test/token",
        "key_set_url": "https://evil.test/jwks",
        "unknown_deployment_policy": "reject",
        **overrides,
    }


def _refusals() -> list[AuditEntry]:
    with db.session() as s:
        return list(
            s.scalars(select(AuditEntry).where(AuditEntry.action == "console.refused"))
        )


def _registration(client_id: str) -> Registration:
    with db.session() as s:
        registration = s.scalar(
            select(Registration).where(Registration.client_id == client_id)
        )
        assert registration is not None
        s.expunge(registration)
        return registration


@pytest.fixture
def alpha(app: Flask, tenants: dict[str, Any]) -> FlaskClient:
    return _client(app, "alpha-admin")


@pytest.fixture
def root(app: Flask, tenants: dict[str, Any]) -> FlaskClient:
    return _client(app, "root")


def _post_platform(client: FlaskClient, fields: dict[str, str]) -> Any:
    token = csrf(client.get("/admin/platforms").data)
    return client.post("/admin/platforms", data={**fields, "csrf_token": token})


def test_tenant_admin_is_refused_another_tenants_registration(
    alpha: FlaskClient, tenants: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="pathwise.admin")
    response = _post_platform(alpha, _platform_form(tenants, tenants["beta_client"]))
    assert response.status_code == 403
    assert b"install-wide admin" in response.data
    assert _registration(tenants["beta_client"]).key_set_url is None
    refusals = _refusals()
    assert [(r.actor, r.target) for r in refusals] == [
        ("console:alpha-admin", "registration.save")
    ]
    assert "console action refused: registration.save by alpha-admin" in caplog.text


def test_tenant_admin_is_refused_a_new_registration_or_deployment(
    alpha: FlaskClient, tenants: dict[str, Any]
) -> None:
    with db.session() as s:
        before = s.scalar(select(func.count(Registration.id)))
        deployments = s.scalar(select(func.count(Deployment.id)))
    attempts = [
        _platform_form(tenants, "brand-new-client"),
        _platform_form(tenants, tenants["alpha_client"], deployment_id="dep-new"),
        _platform_form(
            tenants, tenants["alpha_client"], unknown_deployment_policy="auto_register"
        ),
    ]
    for fields in attempts:
        assert _post_platform(alpha, fields).status_code == 403
    with db.session() as s:
        assert s.scalar(select(func.count(Registration.id))) == before
        assert s.scalar(select(func.count(Deployment.id))) == deployments
    registration = _registration(tenants["alpha_client"])
    assert registration.unknown_deployment_policy == "reject"
    assert registration.key_set_url is None
    assert len(_refusals()) == 3


def test_tenant_admin_may_update_their_own_registration(
    alpha: FlaskClient, tenants: dict[str, Any]
) -> None:
    fields = _platform_form(
        tenants,
        tenants["alpha_client"],
        deployment_id="dep-a",
        key_set_url="https://lms.alpha.test/jwks",
    )
    assert _post_platform(alpha, fields).status_code == 302
    assert _registration(tenants["alpha_client"]).key_set_url == (
        "https://lms.alpha.test/jwks"
    )


def test_install_admin_may_change_any_registration(
    root: FlaskClient, tenants: dict[str, Any]
) -> None:
    fields = _platform_form(
        tenants, tenants["beta_client"], key_set_url="https://lms.beta.test/jwks"
    )
    assert _post_platform(root, fields).status_code == 302
    assert _registration(tenants["beta_client"]).key_set_url == (
        "https://lms.beta.test/jwks"
    )
    assert _post_platform(root, _platform_form(tenants, "brand-new")).status_code == 302
    assert _refusals() == []


def _keys() -> list[str]:
    with db.session() as s:
        return list(s.scalars(select(ToolKey.kid).order_by(ToolKey.id)))


def test_tenant_admin_cannot_rotate_the_signing_key(alpha: FlaskClient) -> None:
    before = _keys()
    page = alpha.get("/admin/keys")
    assert page.status_code == 200 and b"Rotate signing key" not in page.data
    response = alpha.post("/admin/keys", data={"csrf_token": csrf(page.data)})
    assert response.status_code == 403
    assert _keys() == before
    assert [r.target for r in _refusals()] == ["keys.rotate"]


def test_install_admin_rotates_the_signing_key(root: FlaskClient) -> None:
    before = _keys()
    page = root.get("/admin/keys")
    assert b"Rotate signing key" in page.data
    assert (
        root.post("/admin/keys", data={"csrf_token": csrf(page.data)}).status_code
        == 302
    )
    assert len(_keys()) == len(before) + 1


def test_tenant_admin_cannot_create_an_invitation(alpha: FlaskClient) -> None:
    page = alpha.get("/admin/platforms")
    assert b"Create a Dynamic Registration URL" not in page.data
    response = alpha.post(
        "/admin/platforms/invitation", data={"csrf_token": csrf(page.data)}
    )
    assert response.status_code == 403
    assert b"/lti/register?invite=" not in response.data
    with db.session() as s:
        actions = s.scalars(select(AuditEntry.action)).all()
    assert "registration.invitation_created" not in actions
    assert [r.target for r in _refusals()] == ["registration.invitation"]


def test_install_admin_creates_an_invitation(root: FlaskClient) -> None:
    page = root.get("/admin/platforms")
    response = root.post(
        "/admin/platforms/invitation", data={"csrf_token": csrf(page.data)}
    )
    assert response.status_code == 200
    assert b"/lti/register?invite=" in response.data


def test_another_tenants_evidence_rules_are_not_readable(
    alpha: FlaskClient, root: FlaskClient, tenants: dict[str, Any]
) -> None:
    beta = tenants["beta"]
    refused = alpha.get(f"/admin/lrs/rules?tenant={beta}")
    assert refused.status_code == 404
    assert b"beta-secret-rule" not in refused.data
    assert alpha.get("/admin/lrs/rules?tenant=nonsense").status_code == 404
    own = alpha.get(f"/admin/lrs/rules?tenant={tenants['alpha']}")
    assert own.status_code == 200 and b"beta-secret-rule" not in own.data
    # Saving into the other tenant is refused by the form's scoped choices.
    saved = alpha.post(
        "/admin/lrs/rules",
        data={
            "csrf_token": csrf(own.data),
            "tenant_id": beta,
            "document": '[{"key": "planted", "skills": ["sql"]}]',
        },
    )
    assert b"Saved" not in saved.data
    assert b"beta-secret-rule" in root.get(f"/admin/lrs/rules?tenant={beta}").data


def test_users_page_is_for_install_admins_and_shows_scopes(
    alpha: FlaskClient, root: FlaskClient, tenants: dict[str, Any]
) -> None:
    page = root.get("/admin/users").get_data(as_text=True)
    assert "alpha-admin" in page and f"tenant {tenants['alpha']}" in page
    assert "install-wide" in page  # the header shows root's own scope
    assert alpha.get("/admin/users").status_code == 403
    header = alpha.get("/admin/").get_data(as_text=True)
    assert f'data-console-scope="tenant {tenants["alpha"]}"' in header
    assert 'href="/admin/users"' not in header
