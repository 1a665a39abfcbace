"""Unit tests for per-question skill, level and difficulty: format, round trip, engine."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from adaptive.core.catalogue_format import CatalogueError, QuestionTag
from adaptive.core.catalogue_parse import parse_catalogue
from adaptive.core.catalogue_write import export_catalogue
from adaptive.core.engine import Engine
from adaptive.core.engine_catalogue import catalog_from_document

NOW = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)


def _question(**tags: Any) -> dict[str, Any]:
    return {
        "prompt": "?",
        "options": ["a", "b"],
        "answer": 0,
        "explanation": ".",
        **tags,
    }


def _raw(questions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "format": "pathwise-catalogue",
        "version": 1,
        "framework": {
            "key": "fw",
            "name": "F",
            "scale": ["Not yet", "Aware", "Guided", "Independent"],
        },
        "skills": [
            {"key": "a", "name": "A"},
            {"key": "b", "name": "B"},
        ],
        "roles": [{"key": "dev", "name": "Dev", "targets": {"a": 2, "b": 1}}],
        "activities": [
            {
                "key": "mixed-quiz",
                "title": "Mixed",
                "type": "quiz",
                "duration_min": 5,
                "difficulty": 0.5,
                "skills": [
                    {"skill": "a", "weight": 1, "level": 2},
                    {"skill": "b", "weight": 0.5, "level": 1},
                ],
                "content": {"markdown": "", "questions": questions},
            }
        ],
    }


def _parse(questions: list[dict[str, Any]]) -> Any:
    return parse_catalogue(json.dumps(_raw(questions), indent=2), source_name="c.json")


def test_question_tags_fall_back_to_the_activity() -> None:
    doc = _parse(
        [
            _question(),
            _question(skill="b"),
            _question(skill="a", level=3, difficulty=-1.5),
            _question(difficulty=2),
        ]
    )
    assert doc.activities[0].question_tags() == (
        QuestionTag("a", 2, 0.5),
        QuestionTag("b", 1, 0.5),
        QuestionTag("a", 3, -1.5),
        QuestionTag("a", 2, 2.0),
    )


def test_untagged_questions_resolve_to_nothing() -> None:
    assert _parse([_question(), _question()]).activities[0].question_tags() == ()


def test_question_tags_round_trip_through_the_export() -> None:
    doc = _parse([_question(skill="b", level=1, difficulty=0.25), _question()])
    text = export_catalogue(doc)
    assert parse_catalogue(text, source_name="export.json") == doc
    stored = json.loads(text)["activities"][0]["content"]["questions"]
    assert stored[0] == _question(skill="b", level=1, difficulty=0.25)
    assert stored[1] == _question()


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        ({"skill": "zeta"}, "unknown skill 'zeta' (on a question)"),
        ({"level": 4}, "level 4 is outside the framework's scale (1..3)"),
        ({"level": 0}, "level 0 is outside the framework's scale (1..3)"),
        ({"difficulty": 3.5}, "must be between -3 and 3"),
        ({"difficulty": "hard"}, "must be a number, got a string"),
    ],
)
def test_bad_question_tags_are_line_numbered_errors(
    tags: dict[str, Any], message: str
) -> None:
    text = json.dumps(_raw([_question(), _question(**tags)]), indent=2)
    with pytest.raises(CatalogueError) as caught:
        parse_catalogue(text, source_name="c.json")
    (issue,) = caught.value.issues
    assert message in issue.message
    assert issue.path.startswith("activities[0].content.questions[1]")
    key = next(iter(tags))
    assert f'"{key}"' in text.splitlines()[issue.line - 1]


def _engine(questions: list[dict[str, Any]]) -> tuple[Engine, dict[str, int]]:
    catalog, ids = catalog_from_document(_parse(questions))
    return Engine(catalog), ids


def test_answers_are_evidence_on_each_question_s_own_skill() -> None:
    engine, ids = _engine([_question(skill="a"), _question(skill="b")])
    a, b = ids["skill:a"], ids["skill:b"]
    quiz = ids["activity:mixed-quiz"]
    right_on_a = engine.start({a: 2, b: 1})
    right_on_b = engine.start({a: 2, b: 1})
    record = engine.record_attempt(
        right_on_a, quiz, at=NOW, responses={0: True, 1: False}
    )
    engine.record_attempt(right_on_b, quiz, at=NOW, responses={0: False, 1: True})
    assert record.score == 0.5
    # Same score, opposite evidence: each answer counts on its question's skill.
    assert right_on_a.model.p_at_least(a, 2, NOW) > right_on_b.model.p_at_least(
        a, 2, NOW
    )
    assert right_on_a.model.p_at_least(b, 1, NOW) < right_on_b.model.p_at_least(
        b, 1, NOW
    )


def test_a_list_of_responses_is_in_question_order() -> None:
    engine, ids = _engine([_question(skill="a"), _question(skill="b")])
    quiz = ids["activity:mixed-quiz"]
    by_list = engine.start({ids["skill:a"]: 2})
    by_map = engine.start({ids["skill:a"]: 2})
    engine.record_attempt(by_list, quiz, at=NOW, responses=[True, False])
    engine.record_attempt(by_map, quiz, at=NOW, responses={1: False, 0: True})
    for skill, level in ((ids["skill:a"], 2), (ids["skill:b"], 1)):
        assert by_list.model.p_at_least(skill, level, NOW) == pytest.approx(
            by_map.model.p_at_least(skill, level, NOW)
        )


def test_an_untagged_activity_keeps_the_activity_level_update() -> None:
    engine, ids = _engine([_question(), _question()])
    a, b = ids["skill:a"], ids["skill:b"]
    quiz = ids["activity:mixed-quiz"]
    learner = engine.start({a: 2, b: 1})
    before_b = learner.model.p_at_least(b, 1, NOW)
    engine.record_attempt(learner, quiz, at=NOW, responses=[True, False])
    # Both tags see the share correct (0.5), as before per-question tags existed.
    other = engine.start({a: 2, b: 1})
    engine.record_attempt(other, quiz, at=NOW, score=0.5)
    assert learner.model.p_at_least(b, 1, NOW) == pytest.approx(
        other.model.p_at_least(b, 1, NOW)
    )
    assert learner.model.p_at_least(b, 1, NOW) != before_b


def test_a_harder_question_answered_right_says_more() -> None:
    engine, ids = _engine(
        [_question(skill="a", difficulty=-2), _question(skill="a", difficulty=2)]
    )
    a, quiz = ids["skill:a"], ids["activity:mixed-quiz"]
    easy = engine.start({a: 2})
    hard = engine.start({a: 2})
    engine.record_attempt(easy, quiz, at=NOW, responses={0: True})
    engine.record_attempt(hard, quiz, at=NOW, responses={1: True})
    assert hard.model.p_at_least(a, 2, NOW) > easy.model.p_at_least(a, 2, NOW)
