"""Unit tests for the catalogue check: every unreachable role target, by skill and level."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from adaptive.core import catalogue_defects
from adaptive.core.catalogue_format import CatalogueDoc, SkillDoc
from adaptive.core.catalogue_health import ERROR, WARNING, check_health
from adaptive.core.catalogue_parse import parse_catalogue
from adaptive.core.engine import Engine
from adaptive.core.engine_catalogue import catalog_from_document

NOW = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)


def _activity(
    key: str, kind: str, skill: str, level: int, questions: int = 1
) -> dict[str, Any]:
    content: dict[str, Any] = {"markdown": f"{key} text"}
    if kind in {"quiz", "placement_item"}:
        # A quiz asks enough questions for a confident check; a placement item one.
        content["questions"] = [
            {"prompt": f"{i}?", "options": ["a", "b"], "answer": 0, "explanation": "."}
            for i in range(3 if kind == "quiz" else questions)
        ]
    return {
        "key": key,
        "title": key,
        "type": kind,
        "duration_min": 5,
        "skills": [{"skill": skill, "weight": 1, "level": level}],
        "content": content,
    }


def _one_question_quiz(key: str, skill: str, level: int) -> dict[str, Any]:
    quiz = _activity(key, "quiz", skill, level)
    quiz["content"]["questions"] = quiz["content"]["questions"][:1]
    return quiz


def _catalogue(
    skills: dict[str, list[str]],
    targets: dict[str, int],
    activities: list[dict[str, Any]],
) -> CatalogueDoc:
    raw = {
        "format": "pathwise-catalogue",
        "version": 1,
        "framework": {
            "key": "fw",
            "name": "F",
            "scale": ["Not yet", "Aware", "Guided", "Independent", "Adapts", "Leads"],
        },
        "skills": [
            {"key": k, "name": k.title(), "prerequisites": p} for k, p in skills.items()
        ],
        "roles": [{"key": "dev", "name": "Dev", "targets": targets}],
        "activities": activities,
        "modules": [],
    }
    return parse_catalogue(json.dumps(raw, indent=2), source_name="cat.json")


def _codes(doc: CatalogueDoc) -> set[tuple[str, str, str, int]]:
    return {(f.severity, f.code, f.skill, f.level) for f in check_health(doc).findings}


def _teach_and_check(skill: str, *levels: int) -> list[dict[str, Any]]:
    out = []
    for lv in levels:
        out.append(_activity(f"{skill}-lesson-{lv}", "lesson", skill, lv))
        out.append(_activity(f"{skill}-quiz-{lv}", "quiz", skill, lv))
    return out


def test_a_complete_catalogue_has_no_findings() -> None:
    doc = _catalogue({"a": []}, {"a": 2}, _teach_and_check("a", 1, 2))
    health = check_health(doc)
    assert health.ok
    assert health.findings == ()


def test_a_target_with_no_check_at_or_above_it_is_an_error() -> None:
    doc = _catalogue(
        {"a": []},
        {"a": 3},
        [*_teach_and_check("a", 1, 2), _activity("a-l3", "lesson", "a", 3)],
    )
    health = check_health(doc)
    assert not health.ok
    (finding,) = health.errors
    assert (finding.code, finding.skill, finding.level) == ("no_assessment", "a", 3)
    assert finding.roles == ("dev",)
    assert finding.line == doc.skill("a").line > 1
    assert finding.message == catalogue_defects.no_assessment("a", 3)


def test_a_skill_with_no_content_at_all_cannot_be_assessed() -> None:
    doc = _catalogue({"a": [], "b": []}, {"a": 1, "b": 2}, _teach_and_check("a", 1))
    assert (ERROR, "no_assessment", "b", 2) in _codes(doc)


def test_a_target_with_checks_but_nothing_teaching_it_is_an_error() -> None:
    doc = _catalogue({"a": []}, {"a": 2}, [_activity("a-quiz", "quiz", "a", 2)])
    assert _codes(doc) == {(ERROR, "no_teaching_content", "a", 2)}


def test_an_implied_prerequisite_level_with_no_check_is_an_error() -> None:
    # "b" needs "a"; a's only content is a level-1 lesson, so the engine works on a
    # at level 1 and can never verify it.
    doc = _catalogue(
        {"a": [], "b": ["a"]},
        {"b": 2},
        [_activity("a-lesson", "lesson", "a", 1), *_teach_and_check("b", 1, 2)],
    )
    assert _codes(doc) == {(ERROR, "no_assessment", "a", 1)}


def test_a_prerequisite_with_no_content_is_a_warning() -> None:
    doc = _catalogue({"a": [], "b": ["a"]}, {"b": 1}, _teach_and_check("b", 1))
    assert _codes(doc) == {(WARNING, "prerequisite_without_content", "a", 0)}
    assert check_health(doc).ok


def test_a_target_level_without_content_is_a_warning_when_a_check_sits_above() -> None:
    doc = _catalogue({"a": []}, {"a": 2}, _teach_and_check("a", 1, 3))
    codes = _codes(doc)
    assert (WARNING, "no_content_at_level", "a", 2) in codes
    assert all(severity == WARNING for severity, *_ in codes)


def test_a_level_gap_below_the_target_is_a_warning() -> None:
    doc = _catalogue({"a": []}, {"a": 4}, _teach_and_check("a", 2, 4))
    assert _codes(doc) == {(WARNING, "level_gap", "a", 3)}
    (finding,) = check_health(doc).warnings
    assert "content at levels 2 and 4" in finding.message


def test_a_cycle_is_an_error_naming_its_skills() -> None:
    doc = _catalogue({"a": []}, {"a": 1}, _teach_and_check("a", 1))
    cyclic = CatalogueDoc(
        doc.framework,
        (SkillDoc("a", "A", "", ("b",)), SkillDoc("b", "B", "", ("a",))),
        doc.roles,
        doc.activities,
        doc.modules,
    )
    (finding,) = check_health(cyclic).findings
    assert (finding.severity, finding.code) == (ERROR, "cycle")
    assert finding.message == "prerequisite cycle: a -> b -> a"


def test_a_defect_shared_by_roles_is_one_finding_naming_both() -> None:
    doc = _catalogue({"a": []}, {"a": 1}, [_activity("a-l", "lesson", "a", 1)])
    two_roles = CatalogueDoc(
        doc.framework,
        doc.skills,
        (doc.roles[0], type(doc.roles[0])("ops", "Ops", "", 60, doc.roles[0].targets)),
        doc.activities,
        doc.modules,
    )
    (finding,) = check_health(two_roles).findings
    assert finding.roles == ("dev", "ops")
    assert finding.text().endswith("[roles dev, ops]")


@pytest.mark.parametrize(
    ("activities", "target"),
    [
        ([_activity("a-lesson", "lesson", "a", 1)], 1),
        ([_activity("a-quiz", "quiz", "a", 2)], 2),
    ],
)
def test_every_error_is_what_the_engine_reports_as_blocked(
    activities: list[dict[str, Any]], target: int
) -> None:
    doc = _catalogue({"a": []}, {"a": target}, activities)
    (finding,) = check_health(doc).errors
    catalog, ids = catalog_from_document(doc)
    engine = Engine(catalog)
    learner = engine.start({ids["skill:a"]: target})
    step = engine.next_step(learner, NOW)
    for _ in range(60):
        if step.kind == "blocked":
            break
        assert step.activity_id is not None
        engine.record_attempt(learner, step.activity_id, at=NOW, responses=[False])
        step = engine.next_step(learner, NOW)
    assert step.kind == "blocked"
    assert step.reason.code == finding.code
    # Same sentence, the engine's naming the skill by its name.
    assert finding.message.replace("a", "A", 1) in step.reason.manager_text


def test_a_level_checked_by_one_question_is_a_warning_with_skill_and_level() -> None:
    # Level 2 of "a" is checked only by a one-question quiz: the engine copes (it
    # teaches first and states a lower confidence), the author is told.
    activities = [
        *_teach_and_check("a", 1),
        _activity("a-lesson-2", "lesson", "a", 2),
        _one_question_quiz("a-quiz-2", "a", 2),
    ]
    doc = _catalogue({"a": []}, {"a": 2}, activities)
    health = check_health(doc)
    assert health.ok
    assert _codes(doc) == {(WARNING, "thin_check", "a", 2)}
    (finding,) = health.warnings
    assert finding.text() == (
        "skill a at level 2 is checked by only 1 question (the engine teaches the "
        'level before its check and states a lower confidence for "met") [role dev]'
    )


def test_a_level_checked_only_by_placement_items_has_no_assessment() -> None:
    # A placement question was just seen in the placement check, so it never
    # verifies a target: as in a stored module, the level has no check at all.
    activities = [
        *_teach_and_check("a", 1),
        _activity("a-lesson-2", "lesson", "a", 2),
        _activity("a-item-2", "placement_item", "a", 2),
    ]
    doc = _catalogue({"a": []}, {"a": 2}, activities)
    assert not check_health(doc).ok
    assert (ERROR, "no_assessment", "a", 2) in _codes(doc)


def test_three_distinct_questions_at_the_level_are_not_thin() -> None:
    activities = [
        *_teach_and_check("a", 1),
        _activity("a-lesson-2", "lesson", "a", 2),
        *(_one_question_quiz(f"a-quiz-2-{i}", "a", 2) for i in range(3)),
    ]
    assert _codes(_catalogue({"a": []}, {"a": 2}, activities)) == set()
