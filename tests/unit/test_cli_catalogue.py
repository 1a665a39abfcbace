"""Unit tests for `pathwise catalogue`: invalid files are refused before any database work."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from adaptive.core.catalogue_parse import parse_catalogue
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


def _unreachable(tmp_path: Path) -> Path:
    catalogue = {
        "format": "pathwise-catalogue",
        "version": 1,
        "framework": {
            "key": "fw",
            "name": "F",
            "scale": ["Not yet", "Aware", "Guided"],
        },
        "skills": [{"key": "a", "name": "A"}],
        "roles": [{"key": "dev", "name": "Dev", "targets": {"a": 2}}],
        "activities": [
            {
                "key": "a-lesson",
                "title": "A",
                "type": "lesson",
                "duration_min": 5,
                "skills": [{"skill": "a", "level": 1}],
                "content": {"markdown": "A."},
            }
        ],
    }
    path = tmp_path / "cat.json"
    path.write_text(json.dumps(catalogue, indent=2), encoding="utf-8")
    return path


def test_import_refuses_an_unreachable_target_before_any_database_work(
    tmp_path: Path,
) -> None:
    path = _unreachable(tmp_path)
    result = CliRunner().invoke(main, ["catalogue", "import", str(path)])
    assert result.exit_code == 1
    line = parse_catalogue(path.read_text()).skill("a").line
    assert "valid." not in result.output
    assert (
        f"{path}:{line}: skills.a: a has no assessment at level 2 or above [role dev]"
        in result.output
    )
    assert "nothing was changed" in result.output


def test_check_lists_errors_and_warnings_of_a_file(tmp_path: Path) -> None:
    path = _unreachable(tmp_path)
    result = CliRunner().invoke(main, ["catalogue", "check", str(path)])
    assert result.exit_code == 1
    assert "a has no assessment at level 2 or above" in result.output


def test_check_passes_with_warnings_only(tmp_path: Path) -> None:
    data = json.loads(_unreachable(tmp_path).read_text())
    data["framework"]["scale"].append("Independent")
    data["roles"][0]["targets"] = {"a": 2}
    data["activities"].append(
        {
            "key": "a-quiz",
            "title": "A quiz",
            "type": "quiz",
            "duration_min": 3,
            "skills": [{"skill": "a", "level": 3}],
            "content": {
                "markdown": "",
                "questions": [
                    {
                        "prompt": "?",
                        "options": ["x", "y"],
                        "answer": 0,
                        "explanation": ".",
                    }
                ],
            },
        }
    )
    path = tmp_path / "warn.json"
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    result = CliRunner().invoke(main, ["catalogue", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert "warning: a has no content at level 2" in result.output
    # The one-question quiz is a thin check: a warning too, never a refusal.
    assert "warning: skill a at level 3 is checked by only 1 question" in result.output
    assert "every role target can be reached (2 warnings)" in result.output


def test_check_needs_a_file_or_a_framework() -> None:
    result = CliRunner().invoke(main, ["catalogue", "check"])
    assert result.exit_code == 2
