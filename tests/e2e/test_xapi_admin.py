"""The console's xAPI pages: add, test and remove an LRS, outbox and quarantine views."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from admin.users import create_admin_user
from lti_tool.infra.db import session_scope
from lti_tool.infra.models import AuditEntry
from tests.admin_support import csrf, sign_in
from tests.lrs_fixture import LocalLrs, lrs  # noqa: F401 - fixture
from tests.xapi_support import make_world
from xapi.models import LrsConnection

pytestmark = pytest.mark.lrs


@pytest.fixture
def console(app: Flask, client: FlaskClient) -> tuple[FlaskClient, int]:
    app.config["WTF_CSRF_ENABLED"] = True
    with session_scope() as s:
        create_admin_user(
            s, username="root", password="correct horse battery", role="admin"
        )
        tenant_id = make_world(s).tenant_id
    sign_in(client, "root")
    return client, tenant_id


def test_admin_adds_tests_and_removes_an_lrs(
    console: tuple[FlaskClient, int],
    lrs: LocalLrs,  # noqa: F811
) -> None:
    client, tenant_id = console
    page = client.get("/admin/lrs")
    assert b"No LRS connected" in page.data
    response = client.post(
        "/admin/lrs",
        data={
            "csrf_token": csrf(page.data),
            "tenant_id": tenant_id,
            "name": "Company LRS",
            "endpoint": lrs.endpoint,
            "username": "key",
            "password": "top-secret",
            "actor_mode": "account",
            "page_size": 500,
            "sync_enabled": "y",
            "send_statements": "y",
        },
    )
    assert response.status_code == 302, response.data[:2000]
    with session_scope() as s:
        connection = s.scalars(select(LrsConnection)).one()
        assert "top-secret" not in connection.secret_encrypted
        connection_id = connection.id
    page = client.get("/admin/lrs")
    assert b"Company LRS" in page.data and b"top-secret" not in page.data
    tested = client.post(
        f"/admin/lrs/{connection_id}/test",
        data={"csrf_token": csrf(page.data)},
        follow_redirects=True,
    )
    assert b"connected; xAPI 1.0.3" in tested.data
    # Without the CSRF token nothing happens.
    assert client.post(f"/admin/lrs/{connection_id}/remove").status_code == 400
    removed = client.post(
        f"/admin/lrs/{connection_id}/remove",
        data={"csrf_token": csrf(tested.data)},
        follow_redirects=True,
    )
    assert b"Removed LRS connection" in removed.data
    with session_scope() as s:
        actions = s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert [a for a in actions if a.startswith("lrs.")] == [
        "lrs.add",
        "lrs.test",
        "lrs.remove",
    ]


def test_outbox_quarantine_and_rules_pages(console: tuple[FlaskClient, int]) -> None:
    client, tenant_id = console
    outbox = client.get("/admin/lrs/outbox")
    assert outbox.status_code == 200 and b"Nothing parked" in outbox.data
    retried = client.post(
        "/admin/lrs/outbox/retry",
        data={"csrf_token": csrf(outbox.data)},
        follow_redirects=True,
    )
    assert b"0 statements queued" in retried.data
    assert b"Nothing quarantined" in client.get("/admin/lrs/quarantine").data
    rules_page = client.get(f"/admin/lrs/rules?tenant={tenant_id}")
    assert b"adl-passed" in rules_page.data
    bad = client.post(
        "/admin/lrs/rules",
        data={
            "csrf_token": csrf(rules_page.data),
            "tenant_id": tenant_id,
            "document": "[{}]",
        },
    )
    assert b"Rules not saved" in bad.data
    good = client.post(
        "/admin/lrs/rules",
        data={
            "csrf_token": csrf(rules_page.data),
            "tenant_id": tenant_id,
            "document": '[{"key": "k", "skills": ["sql"]}]',
        },
        follow_redirects=True,
    )
    assert b"Saved 1 evidence rules" in good.data
