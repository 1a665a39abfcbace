"""`pathwise admin ...`: console accounts listed, disabled, re-passworded and scoped."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import Engine, select

from admin.users import authenticate
from lti_tool.cli.users import admin_set_password
from lti_tool.infra.config import Settings
from lti_tool.infra.db import db, session_scope
from lti_tool.infra.models import AdminUser, AuditEntry
from tests.admin_support import run_cli
from tests.xapi_support import make_world

NEW = "a brand new password"


def _user(username: str) -> AdminUser:
    with db.session() as s:
        user = s.scalar(select(AdminUser).where(AdminUser.username == username))
        assert user is not None
        s.expunge(user)
        return user


def _audit() -> list[tuple[str, str, str]]:
    with db.session() as s:
        return [
            (e.actor, e.action, e.target)
            for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]


def test_create_list_and_scope_users(
    app: Flask, settings: Settings, engine: Engine
) -> None:
    with session_scope() as s:
        tenant = make_world(s).tenant_id
    created = run_cli(
        settings,
        engine,
        ["admin", "create-user", "tina", "--tenant", str(tenant), "--password-stdin"],
        stdin=NEW + "\n",
    )
    assert created.exit_code == 0, created.output
    assert f"for tenant {tenant}" in created.output
    assert (
        run_cli(
            settings,
            engine,
            ["admin", "create-user", "ivan", "--password-stdin"],
            stdin=NEW + "\n",
        ).exit_code
        == 0
    )
    assert _user("tina").tenant_id == tenant and _user("ivan").tenant_id is None
    listing = run_cli(settings, engine, ["admin", "list-users"]).output.splitlines()
    assert listing == [
        "ivan\tadmin\tinstall\tactive\tlast sign-in: never",
        f"tina\tadmin\ttenant {tenant}\tactive\tlast sign-in: never",
    ]
    assert (
        run_cli(
            settings, engine, ["admin", "set-tenant", "tina", "--install"]
        ).exit_code
        == 0
    )
    assert _user("tina").tenant_id is None
    assert (
        run_cli(
            settings, engine, ["admin", "set-tenant", "ivan", "--tenant", str(tenant)]
        ).exit_code
        == 0
    )
    assert _user("ivan").tenant_id == tenant
    assert (
        run_cli(settings, engine, ["admin", "set-role", "ivan", "author"]).exit_code
        == 0
    )
    assert _user("ivan").role == "author"
    assert run_cli(settings, engine, ["admin", "disable-user", "ivan"]).exit_code == 0
    assert (
        "ivan\tauthor\ttenant"
        in run_cli(settings, engine, ["admin", "list-users"]).output
    )
    assert "disabled" in run_cli(settings, engine, ["admin", "list-users"]).output
    actions = [a for a in _audit() if a[0] == "cli:operator"]
    assert [a[1] for a in actions] == [
        "console.user_created",
        "console.user_created",
        "console.tenant_set",
        "console.tenant_set",
        "console.role_set",
        "console.user_disabled",
    ]


def test_set_password_is_prompted_never_an_argument(
    app: Flask, settings: Settings, engine: Engine
) -> None:
    assert {p.name for p in admin_set_password.params} == {"username"}
    refused = run_cli(
        settings, engine, ["admin", "create-user", "eve", "--password", NEW]
    )
    assert refused.exit_code == 2  # a secret is never a command-line value
    assert (
        run_cli(
            settings,
            engine,
            ["admin", "create-user", "ana", "--password-stdin"],
            stdin=NEW + "\n",
        ).exit_code
        == 0
    )
    changed = run_cli(
        settings,
        engine,
        ["admin", "set-password", "ana"],
        stdin="another long password\nanother long password\n",
    )
    assert changed.exit_code == 0, changed.output
    with session_scope() as s:
        assert authenticate(s, username="ana", password=NEW) is None
        assert authenticate(s, username="ana", password="another long password")
    entries = _audit()
    assert ("cli:operator", "console.password_set", "ana") in entries
    assert "another long password" not in repr(entries)
    short = run_cli(
        settings, engine, ["admin", "set-password", "ana"], stdin="short\nshort\n"
    )
    assert short.exit_code == 1 and "at least 10 characters" in short.output


def test_bad_names_and_tenants_are_clean_errors(
    app: Flask, settings: Settings, engine: Engine
) -> None:
    missing = run_cli(settings, engine, ["admin", "disable-user", "nobody"])
    assert missing.exit_code == 1 and "no console user nobody" in missing.output
    no_tenant = run_cli(
        settings,
        engine,
        ["admin", "create-user", "x", "--tenant", "999", "--password-stdin"],
        stdin=NEW + "\n",
    )
    # --tenant is resolved before the command runs: a usage error, with the way out.
    assert no_tenant.exit_code == 2 and "no tenant '999'" in no_tenant.output
    assert "pathwise tenants list" in no_tenant.output
    both = run_cli(
        settings, engine, ["admin", "set-tenant", "x", "--install", "--tenant", "1"]
    )
    assert both.exit_code == 2
    deleted = run_cli(settings, engine, ["admin", "delete-user", "nobody", "--yes"])
    assert deleted.exit_code == 1
