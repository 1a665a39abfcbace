"""Unit: question types and opened-URL activities in the catalogue file, and their round trip."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adaptive.core.catalogue_format import CatalogueError
from adaptive.core.catalogue_parse import parse_catalogue
from adaptive.core.catalogue_write import export_catalogue
from adaptive.core.engine_catalogue import catalog_from_document
from tests.catalogue_support import dump, minimal


def with_questions(*questions: dict[str, Any], kind: str = "quiz") -> dict[str, Any]:
    data = minimal()
    quiz = data["activities"][2]
    quiz["type"] = kind
    quiz["content"]["questions"] = list(questions)
    return data


SINGLE_Q = minimal()["activities"][2]["content"]["questions"][0]
MULTIPLE = {
    "type": "multiple",
    "prompt": "Which two?",
    "options": ["a", "b", "c"],
    "answer": [2, 0],
    "explanation": "A and C.",
}
SHORT = {
    "type": "short",
    "prompt": "Name it.",
    "answer": "RAG",
    "accepted": ["retrieval-augmented generation"],
    "explanation": "Retrieval first.",
}
SCENARIO = {
    "type": "scenario",
    "prompt": "A colleague pastes a client list into a chatbot. What do you say?",
    "rubric": ["Names the data class", "Offers a safe alternative"],
    "explanation": "A strong reply ...",
}


def issues(data: dict[str, Any]) -> list[str]:
    with pytest.raises(CatalogueError) as info:
        parse_catalogue(dump(data), source_name="cat.json")
    return [f"{i.path}: {i.message}" for i in info.value.issues]


def test_every_question_type_parses_and_round_trips_through_export() -> None:
    doc = parse_catalogue(
        dump(with_questions(SINGLE_Q, MULTIPLE, SHORT, SCENARIO)), source_name="c"
    )
    questions = doc.activity("alpha-quiz").questions
    assert [q.type for q in questions] == ["single", "multiple", "short", "scenario"]
    assert questions[1].answer == (0, 2)
    assert questions[2].accepted == ("retrieval-augmented generation",)
    assert list(questions[3].rubric) == SCENARIO["rubric"]
    assert questions[3].answer is None
    text = export_catalogue(doc)
    assert parse_catalogue(text, source_name="again") == doc
    written = json.loads(text)["activities"][2]["content"]["questions"]
    assert "type" not in written[0]  # single stays the default, as authors wrote it
    assert written[1]["answer"] == [0, 2]
    assert "options" not in written[2] and "options" not in written[3]


def test_only_scored_questions_count_as_items() -> None:
    doc = parse_catalogue(dump(with_questions(SHORT, SCENARIO)), source_name="c")
    catalog, ids = catalog_from_document(doc)
    assert catalog.activities[ids["activity:alpha-quiz"]].n_items == 1


def test_a_scenario_activity_is_teaching_content_not_a_check() -> None:
    doc = parse_catalogue(
        dump(with_questions(SCENARIO, kind="scenario")), source_name="c"
    )
    catalog, ids = catalog_from_document(doc)
    activity = catalog.activities[ids["activity:alpha-quiz"]]
    assert activity.n_items == 0
    assert activity.id not in catalog.content.check_ids


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ({**MULTIPLE, "answer": 1}, "non-empty list of 0-based option indices"),
        ({**MULTIPLE, "answer": [0, 5]}, "answer[1]: 5 is not in 0..2"),
        ({**MULTIPLE, "answer": [0, 0]}, "answer[1]: option 0 is listed twice"),
        ({**MULTIPLE, "answer": []}, "non-empty list"),
        ({**SHORT, "answer": 3}, "answer: must be a string"),
        ({**SHORT, "options": ["a", "b"]}, "a short question has no 'options'"),
        ({**SHORT, "accepted": ["ok", ""]}, "accepted[1]: each entry must be"),
        ({**SCENARIO, "rubric": []}, "a scenario needs at least one criterion"),
        ({**SCENARIO, "answer": 0}, "a scenario question has no 'answer'"),
        ({**MULTIPLE, "rubric": ["x"]}, "only a scenario question has a 'rubric'"),
        ({**SINGLE_Q, "accepted": ["x"]}, "only a short-answer question"),
        ({**SINGLE_Q, "type": "essay"}, "unknown question type 'essay'"),
    ],
)
def test_bad_questions_are_reported_by_field(
    question: dict[str, Any], expected: str
) -> None:
    kind = "scenario" if question.get("type") == "scenario" else "quiz"
    found = issues(with_questions(question, kind=kind))
    assert any(expected in issue for issue in found), found
    assert all(i.startswith("activities[2].content.questions[0]") for i in found)


def test_a_quiz_of_self_assessments_only_is_refused() -> None:
    found = issues(with_questions(SCENARIO))
    assert any("a quiz needs a scored question" in i for i in found), found


def test_a_scenario_activity_needs_a_scenario() -> None:
    found = issues(with_questions(SHORT, kind="scenario"))
    assert any("needs a scenario question" in i for i in found), found


def test_video_and_link_activities_need_a_web_address() -> None:
    data = minimal()
    lesson = data["activities"][0]
    lesson["type"] = "video"
    assert any("needs a 'url'" in i for i in issues(data))
    lesson["url"] = "javascript:alert(1)"
    assert any("must start with https://" in i for i in issues(data))
    lesson["url"] = "http://videos.example.com/alpha.mp4"
    assert any("must start with https://" in i for i in issues(data))
    lesson["url"] = "https://videos.example.com/alpha.mp4"
    doc = parse_catalogue(dump(data), source_name="c")
    assert doc.activity("alpha-lesson").url == lesson["url"]
    assert parse_catalogue(export_catalogue(doc), source_name="again") == doc
