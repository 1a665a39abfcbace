"""Unit tests for `pathwise catalogue`: invalid files are refused before any database work."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from lti_tool.cli import main


def test_import_prints_line_numbered_errors_and_exits_1(tmp_path: Path) -> None:
    catalogue = {
        "format": "pathwise-catalogue",
        "version": 1,
        "framework": {
            "key": "fw",
            "name": "F",
            "scale": ["Not yet", "Aware", "Guided"],
        },
        "skills": [{"key": "a", "name": "A", "prerequisites": ["missing"]}],
        "activities": [],
    }
    path = tmp_path / "cat.json"
    path.write_text(json.dumps(catalogue, indent=2), encoding="utf-8")
    result = CliRunner().invoke(main, ["catalogue", "import", str(path)])
    assert result.exit_code == 1
    line = next(
        n
        for n, text in enumerate(path.read_text().splitlines(), 1)
        if '"missing"' in text
    )
    assert f"{path}:{line}: skills[0].prerequisites[0]: unknown skill 'missing'" in (
        result.output
    )
    assert "1 problem found; nothing was changed." in result.output


def test_tag_csv_prints_line_numbered_errors_and_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "tags.csv"
    path.write_text("activity_key,skill_key,weight,level\nquiz,skill,0,2\n", "utf-8")
    result = CliRunner().invoke(
        main, ["catalogue", "tag-csv", str(path), "--framework", "fw"]
    )
    assert result.exit_code == 1
    assert f"{path}:2: weight: must be a number above 0, got '0'" in result.output
