"""Evidence rules that name skills no catalogue defines are reported (catalogue
import, console rules page) instead of silently ending as `no_skill`."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from adaptive.demo_seed import demo_catalogue_text
from admin.users import create_admin_user
from lti_tool.infra.config import Settings
from lti_tool.infra.db import session_scope
from tests.admin_support import csrf, run_cli, sign_in
from tests.factories import make_framework, make_skill, make_tenant
from xapi import rule_store


def _rules_naming(rule: str, skill: str) -> dict[str, object]:
    return {
        "version": 1,
        "rules": [
            {
                "key": rule,
                "match": {"verb": ["http://adlnet.gov/expapi/verbs/completed"]},
                "skills": [skill],
            }
        ],
    }


def test_default_rules_report_the_skills_no_catalogue_defines(
    db_session: Session,
) -> None:
    tenant = make_tenant(db_session)
    missing = rule_store.rules_without_skills(db_session, tenant_id=tenant.id)
    assert {m.skill for m in missing} >= {
        "code-review",
        "customer-support",
        "sales-conversation",
    }
    framework = make_framework(db_session, "work", tenant_id=tenant.id)
    for key in ("code-review", "customer-support", "sales-conversation"):
        make_skill(db_session, framework, key)
    assert rule_store.rules_without_skills(db_session, tenant_id=tenant.id) == []
    # Another tenant's catalogue does not count for this one.
    assert rule_store.rules_without_skills(
        db_session, tenant_id=make_tenant(db_session).id
    )
    line = rule_store.describe_missing_skills(missing)
    assert "code-review" in line and "no_skill" in line


def test_catalogue_import_warns_of_rules_without_skills(
    app: Flask, settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    with session_scope() as session:
        tenant = make_tenant(session).id
    path = tmp_path / "catalogue.json"
    # A catalogue the health check accepts (the bare minimal() one has a skill
    # without assessments, which the check refuses since the catalogue merge).
    data = json.loads(demo_catalogue_text())
    data["framework"]["key"] = "rules-warning-fw"
    path.write_text(json.dumps(data), encoding="utf-8")
    result = run_cli(
        settings, engine, ["catalogue", "import", str(path), "--tenant", str(tenant)]
    )
    assert result.exit_code == 0, result.output
    assert "Warning:" in result.output
    assert "code-review" in result.output and "no_skill" in result.output


def test_console_rules_page_lists_rules_without_skills(
    app: Flask, client: FlaskClient
) -> None:
    with session_scope() as session:
        create_admin_user(
            session, username="root", password="correct horse battery", role="admin"
        )
        tenant = make_tenant(session).id
    sign_in(client, "root")
    page = client.get(f"/admin/lrs/rules?tenant={tenant}")
    assert page.status_code == 200
    assert b"name skills that no catalogue this tenant sees defines" in page.data
    assert (
        b"<code>work-code-review-approved</code>: skill <code>code-review</code>"
        in (page.data)
    )


def test_refused_rules_post_does_not_show_another_tenants_rules(
    app: Flask, client: FlaskClient
) -> None:
    """A tenant-bound admin posting another tenant's id gets no word of its rules."""
    with session_scope() as session:
        own = make_tenant(session).id
        other = make_tenant(session).id
        rule_store.import_rules(
            session,
            tenant_id=other,
            document=json.dumps(_rules_naming("other-secret-rule", "other-skill")),
            actor="test",
        )
        create_admin_user(
            session,
            username="bound",
            password="correct horse battery",
            role="admin",
            tenant_id=own,
        )
    sign_in(client, "bound")
    token = csrf(client.get("/admin/lrs/rules").data)
    page = client.post(
        "/admin/lrs/rules",
        data={"csrf_token": token, "tenant_id": str(other), "document": "{}"},
    )
    assert page.status_code == 200
    assert b"Saved" not in page.data
    assert b"other-secret-rule" not in page.data
    assert b"other-skill" not in page.data
