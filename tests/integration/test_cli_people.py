"""`pathwise people ...`: CSV import with dry run and line errors, list, roster checks."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import Engine, select

from lti_tool.infra.config import Settings
from lti_tool.infra.db import session_scope
from lti_tool.infra.models import AuditEntry, Person
from tests.admin_support import run_cli
from tests.factories import make_tenant

HEADER = "external_id,name,email,lms_sub,department,manager,job_role,accounts\n"


def test_import_dry_run_then_real_then_list(
    app: Flask, settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    with session_scope() as s:
        tenant = make_tenant(s).id
    csv_file = tmp_path / "staff.csv"
    csv_file.write_text(
        "\ufeff" + HEADER + "E1,Mia Moss,mia@acme.example,,Ops,,Lead,\n"
        "E2,Sam Agent,sam@acme.example,,Ops,E1,Agent,\n",
        encoding="utf-8",
    )
    args = ["people", "import", str(csv_file), "--tenant", str(tenant)]

    dry = run_cli(settings, engine, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would import 2 rows: 2 new" in dry.output
    with session_scope() as s:
        assert s.scalars(select(Person)).all() == []

    real = run_cli(settings, engine, args)
    assert real.exit_code == 0, real.output
    assert "imported 2 rows: 2 new, 0 updated" in real.output
    listed = run_cli(settings, engine, ["people", "list", "--tenant", str(tenant)])
    assert "Sam Agent" in listed.output and "not launched" in listed.output
    assert "2 people" in listed.output
    with session_scope() as s:
        actions = [e.action for e in s.scalars(select(AuditEntry))]
    assert actions == ["people.import"]


def test_a_bad_file_exits_non_zero_and_writes_nothing(
    app: Flask, settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    with session_scope() as s:
        tenant = make_tenant(s).id
    csv_file = tmp_path / "staff.csv"
    csv_file.write_text(
        HEADER + "E1,Mia,mia@acme.example,,,,,\nE2,Sam,,,,E404,,\n", encoding="utf-8"
    )

    result = run_cli(
        settings, engine, ["people", "import", str(csv_file), "--tenant", str(tenant)]
    )

    assert result.exit_code == 1
    assert "line 3: manager 'E404'" in result.output
    assert "nothing was imported" in result.output
    with session_scope() as s:
        assert s.scalars(select(Person)).all() == []


def test_roster_sync_needs_a_stored_endpoint(
    app: Flask, settings: Settings, engine: Engine
) -> None:
    with session_scope() as s:
        tenant = make_tenant(s).id
    result = run_cli(
        settings, engine, ["people", "sync-roster", "--tenant", str(tenant)]
    )
    assert result.exit_code == 1
    assert "no course of this tenant has a Names and Roles endpoint" in result.output
