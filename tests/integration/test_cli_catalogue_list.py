"""`pathwise catalogue list`: framework keys and names and module keys, per scope."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import Engine

from lti_tool.infra.config import Settings
from tests.admin_support import run_cli

DEMO = Path(__file__).resolve().parents[2] / "lti_tool" / "demo" / "ai_readiness.json"


def test_list_shows_the_imported_framework_and_its_module_keys(
    app: Flask, settings: Settings, engine: Engine
) -> None:
    empty = run_cli(settings, engine, ["catalogue", "list"])
    assert empty.exit_code == 0, empty.output
    assert "No frameworks in the shared catalogue" in empty.output
    assert "lti_tool/demo/ai_readiness.json" in empty.output

    imported = run_cli(settings, engine, ["catalogue", "import", str(DEMO)])
    assert imported.exit_code == 0, imported.output
    assert "framework 'genai-proficiency'" in imported.output

    listed = run_cli(settings, engine, ["catalogue", "list"])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert any(
        line.startswith("  genai-proficiency  'Generative AI proficiency': ")
        and "2 modules" in line
        for line in lines
    ), listed.output
    assert "    module ai-for-team-leads  'AI for team leads'" in lines
    assert "    module ai-readiness-everyone  'AI readiness for everyone'" in lines


def test_list_of_an_unknown_tenant_is_refused(
    app: Flask, settings: Settings, engine: Engine
) -> None:
    result = run_cli(settings, engine, ["catalogue", "list", "--tenant", "999"])
    assert result.exit_code != 0
    # The one --tenant resolver (lti_tool/cli/bootstrap.py) refuses it, naming the fix.
    assert "no tenant '999'" in result.output
    assert "pathwise tenants list" in result.output
