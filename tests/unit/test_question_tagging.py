"""Unit: the question-tagging CSV, read with line numbers and checked against a framework."""

from __future__ import annotations

import pytest

from adaptive.core.catalogue_format import CatalogueError
from adaptive.core.question_tagging import (
    QuestionTagRow,
    check_question_tags,
    is_question_csv,
    parse_question_csv,
)

HEADER = "activity_key,question,skill_key,level,difficulty\n"


def test_question_rows_parse_and_empty_cells_mean_fall_back() -> None:
    text = HEADER + "# reviewed\nquiz,0,beta,2,-0.5\n\nquiz,1,,,\n"
    assert is_question_csv(text)
    assert parse_question_csv(text, source_name="q.csv") == [
        QuestionTagRow(3, "quiz", 0, "beta", 2, -0.5),
        QuestionTagRow(5, "quiz", 1, None, None, None),
    ]


def test_an_activity_tagging_csv_is_not_a_question_csv() -> None:
    assert not is_question_csv("activity_key,skill_key,weight,level\nq,s,1,2\n")
    assert not is_question_csv("quiz,0,beta,2,0\n")


def test_question_csv_errors_carry_line_numbers() -> None:
    text = HEADER + "quiz,x,beta,2,0\nquiz,0,Beta!,2,0\nquiz,1,beta,two,9\nquiz,2\n"
    with pytest.raises(CatalogueError) as caught:
        parse_question_csv(text, source_name="q.csv")
    rendered = caught.value.render().splitlines()
    assert rendered == [
        "q.csv:2: question: must be a whole number, got 'x'",
        "q.csv:3: skill_key: 'Beta!' is not a valid key",
        "q.csv:4: difficulty: must be a number from -3 to 3, got '9'",
        "q.csv:4: level: must be a whole number, got 'two'",
        "q.csv:5: expected 5 columns "
        "(activity_key,question,skill_key,level,difficulty), got 2",
    ]


def test_a_question_tagged_twice_is_refused() -> None:
    with pytest.raises(CatalogueError, match="tagged again"):
        parse_question_csv(HEADER + "quiz,0,a,1,0\nquiz,0,b,1,0\n")


def test_rows_are_checked_against_the_framework() -> None:
    rows = [
        QuestionTagRow(2, "quiz", 1, "beta", 2, None),
        QuestionTagRow(3, "quiz", 2, None, None, None),
        QuestionTagRow(4, "nope", 0, "zeta", 9, None),
    ]
    with pytest.raises(CatalogueError) as caught:
        check_question_tags(
            rows,
            source_name="q.csv",
            questions_of={"quiz": 2},
            skill_keys={"alpha", "beta"},
            max_level=3,
        )
    assert caught.value.render().splitlines() == [
        "q.csv:3: question: 'quiz' has 2 questions (0..1); there is no question 2",
        "q.csv:4: activity_key: unknown activity 'nope'",
        "q.csv:4: level: level 9 is outside the framework's scale (1..3)",
        "q.csv:4: skill_key: unknown skill 'zeta'",
    ]
