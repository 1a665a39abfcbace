"""`pathwise catalogue tag-csv`: activity rows and question rows through one CLI path,
dry run first (nothing saved), then for real."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import Engine, select

from adaptive.demo_seed import demo_catalogue_text
from adaptive.models import Activity
from lti_tool.infra.config import Settings
from lti_tool.infra.db import session_scope
from tests.admin_support import run_cli

FRAMEWORK = ["--framework", "genai-proficiency"]


def _quiz_questions() -> list[dict[str, object]]:
    with session_scope() as session:
        quiz = session.scalars(
            select(Activity).where(Activity.key == "foundations-quiz")
        ).one()
        return list((quiz.content or {}).get("questions", []))


def test_tag_csv_applies_activity_and_question_rows(
    app: Flask, settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    catalogue = tmp_path / "demo.json"
    catalogue.write_text(demo_catalogue_text(), encoding="utf-8")
    imported = run_cli(settings, engine, ["catalogue", "import", str(catalogue)])
    assert imported.exit_code == 0, imported.output

    tags = tmp_path / "tags.csv"
    tags.write_text(
        "activity_key,skill_key,weight,level\n"
        "foundations-quiz,prompting-basics,0.5,2\n",
        encoding="utf-8",
    )
    dry = run_cli(
        settings, engine, ["catalogue", "tag-csv", str(tags), *FRAMEWORK, "--dry-run"]
    )
    assert dry.exit_code == 0, dry.output
    assert f"{tags}: 1 tagging rows." in dry.output
    assert "Dry run: nothing saved: 1 created, 0 updated, 0 unchanged." in dry.output
    real = run_cli(settings, engine, ["catalogue", "tag-csv", str(tags), *FRAMEWORK])
    assert real.exit_code == 0, real.output
    assert "Tagged: 1 created, 0 updated, 0 unchanged." in real.output

    questions = tmp_path / "questions.csv"
    questions.write_text(
        "activity_key,question,skill_key,level,difficulty\n"
        "foundations-quiz,1,prompting-basics,2,0.5\n",
        encoding="utf-8",
    )
    before = _quiz_questions()
    dry = run_cli(
        settings,
        engine,
        ["catalogue", "tag-csv", str(questions), *FRAMEWORK, "--dry-run"],
    )
    assert dry.exit_code == 0, dry.output
    assert f"{questions}: 1 question rows." in dry.output
    assert "Dry run: nothing saved: 1 updated" in dry.output
    assert _quiz_questions() == before
    real = run_cli(
        settings, engine, ["catalogue", "tag-csv", str(questions), *FRAMEWORK]
    )
    assert real.exit_code == 0, real.output
    assert "Tagged questions: 1 updated" in real.output
    assert _quiz_questions() != before


def test_tag_csv_of_an_unknown_framework_is_refused(
    app: Flask, settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    questions = tmp_path / "questions.csv"
    questions.write_text(
        "activity_key,question,skill_key,level,difficulty\nquiz,1,skill,2,0.5\n",
        encoding="utf-8",
    )
    result = run_cli(
        settings,
        engine,
        ["catalogue", "tag-csv", str(questions), "--framework", "nope"],
    )
    assert result.exit_code == 1
    assert "no framework 'nope' in that tenant" in result.output
