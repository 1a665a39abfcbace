"""Console sessions are revocable, sign-in is throttled and audited, next= stays local.

Issue 13 findings #6, #7 and #8, each replayed as the request that found it.
"""

from __future__ import annotations

import logging

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select

from admin.signin import ACCOUNT_LIMIT, ADDRESS_LIMIT
from admin.users import create_admin_user
from lti_tool.infra.config import Settings
from lti_tool.infra.db import db, session_scope
from lti_tool.infra.models import AdminUser, AuditEntry
from tests.admin_support import (
    PASSWORD,
    csrf,
    replay,
    run_cli,
    saved_cookie,
    try_sign_in,
)
from tests.xapi_support import make_world


@pytest.fixture
def console_app(app: Flask) -> Flask:
    app.config["WTF_CSRF_ENABLED"] = True
    with session_scope() as s:
        for username in ("root", "victim", "other"):
            create_admin_user(s, username=username, password=PASSWORD, role="admin")
    return app


def _signed_in_cookie(app: Flask, username: str = "victim") -> tuple[FlaskClient, str]:
    client = app.test_client()
    status, location = try_sign_in(client, username)
    assert (status, location) == (302, "/admin/")
    cookie = saved_cookie(client)
    assert replay(app.test_client(), cookie, "/admin/platforms") == 200
    return client, cookie


def _replay_is_signed_out(app: Flask, cookie: str) -> None:
    fresh = app.test_client()
    fresh.set_cookie("pathwise_session", cookie)
    for path in ("/admin/", "/admin/platforms", "/admin/keys"):
        response = fresh.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/admin/login"), path


def test_a_cookie_saved_before_logout_stops_working(console_app: Flask) -> None:
    client, cookie = _signed_in_cookie(console_app)
    # A second browser of the same user: logout ends every session at once.
    _, other_cookie = _signed_in_cookie(console_app)
    page = client.get("/admin/").data
    response = client.post("/admin/logout", data={"csrf_token": csrf(page)})
    assert response.status_code == 302
    _replay_is_signed_out(console_app, cookie)
    _replay_is_signed_out(console_app, other_cookie)
    with db.session() as s:
        assert "console.logout" in s.scalars(select(AuditEntry.action)).all()
    # Signing in again works and gives a new, working session.
    _signed_in_cookie(console_app)


@pytest.mark.parametrize(
    ("args", "stdin"),
    [
        (["admin", "disable-user", "victim"], None),
        (["admin", "set-role", "victim", "author"], None),
        (["admin", "set-tenant", "victim", "--tenant", "{tenant}"], None),
        (["admin", "set-password", "victim"], "a new long password\n" * 2),
        (["admin", "delete-user", "victim", "--yes"], None),
    ],
    ids=["disable", "demote", "tenant", "password", "delete"],
)
def test_account_changes_end_every_session(
    console_app: Flask,
    settings: Settings,
    engine: Engine,
    args: list[str],
    stdin: str | None,
) -> None:
    with session_scope() as s:
        tenant = str(make_world(s).tenant_id)
    _, cookie = _signed_in_cookie(console_app)
    result = run_cli(
        settings, engine, [a.replace("{tenant}", tenant) for a in args], stdin
    )
    assert result.exit_code == 0, result.output
    _replay_is_signed_out(console_app, cookie)
    # Another user's session is untouched.
    _, bystander = _signed_in_cookie(console_app, "other")
    assert replay(console_app.test_client(), bystander) == 200


def test_a_disabled_account_cannot_sign_in_and_an_enabled_one_can(
    console_app: Flask, settings: Settings, engine: Engine
) -> None:
    assert run_cli(settings, engine, ["admin", "disable-user", "victim"]).exit_code == 0
    status, page = try_sign_in(console_app.test_client(), "victim")
    assert status == 200 and "Wrong username or password" in page
    assert run_cli(settings, engine, ["admin", "enable-user", "victim"]).exit_code == 0
    assert try_sign_in(console_app.test_client(), "victim")[0] == 302


def test_a_cookie_from_before_the_upgrade_is_not_a_session(console_app: Flask) -> None:
    """The old cookie carried role and tenant itself; it must not be trusted now."""
    client = console_app.test_client()
    with client.session_transaction() as old:
        old["admin_user"] = {"id": 1, "username": "root", "role": "admin"}
    response = client.get("/admin/keys")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login")


def test_sixty_wrong_passwords_then_the_right_one_is_still_refused(
    console_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    client = console_app.test_client()
    caplog.set_level(logging.WARNING, logger="pathwise.admin")
    statuses = [try_sign_in(client, "root", "wrong password!")[0] for _ in range(60)]
    assert statuses[:ACCOUNT_LIMIT] == [200] * ACCOUNT_LIMIT
    assert set(statuses[ACCOUNT_LIMIT:]) == {429}
    status, page = try_sign_in(client, "root", PASSWORD)
    assert status == 429
    assert "Too many failed sign-ins" in page and "15 minutes" in page
    # Another browser from the same address fares no better for this account.
    assert try_sign_in(console_app.test_client(), "root", PASSWORD)[0] == 429
    with db.session() as s:
        failures = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "console.login_failed")
        ).all()
        assert len(failures) == 62
        assert {f.target for f in failures} == {"root"}
        assert {f.details["address"] for f in failures} == {"127.0.0.1"}
        assert all(set(f.details) == {"address", "reason"} for f in failures)
        assert all("wrong password!" not in str(f.details) for f in failures)
        assert "console.login" not in s.scalars(select(AuditEntry.action)).all()
    lines = [r.getMessage() for r in caplog.records if "sign-in failed" in r.message]
    assert len(lines) == 62
    assert "username='root' address=127.0.0.1" in lines[0]
    assert "wrong password!" not in caplog.text


def test_one_address_guessing_many_accounts_is_throttled(console_app: Flask) -> None:
    client = console_app.test_client()
    for index in range(ADDRESS_LIMIT):
        assert try_sign_in(client, f"guess-{index}", "wrong password!")[0] == 200
    # An account with no failures of its own, from the same address: refused.
    assert try_sign_in(client, "other", PASSWORD)[0] == 429


def test_a_successful_sign_in_forgets_the_accounts_failures(
    console_app: Flask,
) -> None:
    client = console_app.test_client()
    for _ in range(ACCOUNT_LIMIT - 1):
        assert try_sign_in(client, "root", "wrong password!")[0] == 200
    assert try_sign_in(client, "root", PASSWORD)[0] == 302
    fresh = console_app.test_client()
    for _ in range(ACCOUNT_LIMIT - 1):
        assert try_sign_in(fresh, "root", "wrong password!")[0] == 200
    assert try_sign_in(fresh, "root", PASSWORD)[0] == 302
    with db.session() as s:
        user = s.scalar(select(AdminUser).where(AdminUser.username == "root"))
        assert user is not None and user.last_login_at is not None


NASTY_NEXT = [
    "/%09/evil.test/phish",  # the finding: a tab the browser drops
    "/%0a/evil.test",
    "/%0d/evil.test",
    "/%00/evil.test",
    "//evil.test/phish",
    "/%2Fevil.test",
    "%2F%2Fevil.test",
    "/%5Cevil.test",
    "%5C%5Cevil.test",
    "/%5C/evil.test",
    "https://evil.test/",
    "https:/evil.test",
    "javascript:alert(1)",
    "evil.test",
    "%20/admin/",
    "/%20/evil.test",
    "/%C2%A0/evil.test",
    "/%E2%80%8B/evil.test",
    "/%252F%252Fevil.test",
    "/%25%30%39/evil.test",
]


@pytest.mark.parametrize("raw", NASTY_NEXT)
def test_next_accepts_only_same_origin_paths(console_app: Flask, raw: str) -> None:
    status, location = try_sign_in(
        console_app.test_client(), "root", query=f"?next={raw}"
    )
    assert (status, location) == (302, "/admin/")


def test_next_keeps_a_local_path(console_app: Flask) -> None:
    client = console_app.test_client()
    target = client.get("/admin/audit?x=1").headers["Location"]
    assert target.startswith("/admin/login?next=")
    status, location = try_sign_in(client, "root", query=target.split("login", 1)[1])
    assert (status, location) == (302, "/admin/audit?x=1")
