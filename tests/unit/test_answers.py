"""Unit: the one answer checker (``adaptive.core.answers``) for every question type."""

from __future__ import annotations

from typing import Any

import pytest

from adaptive.core.answers import (
    check_answer,
    check_answers,
    normalise_text,
    response_problem,
    share_right,
    texts_match,
)

SINGLE: dict[str, Any] = {"prompt": "?", "options": ["a", "b", "c"], "answer": 1}
MULTIPLE: dict[str, Any] = {
    "type": "multiple",
    "prompt": "?",
    "options": ["a", "b", "c", "d"],
    "answer": [0, 2],
}
SHORT: dict[str, Any] = {
    "type": "short",
    "prompt": "?",
    "answer": "Retrieval-augmented generation",
    "accepted": ["RAG", "retrieval augmented generation"],
}
SCENARIO: dict[str, Any] = {
    "type": "scenario",
    "prompt": "Your manager asks ...",
    "rubric": ["Names the risk", "Proposes a check"],
}


def test_a_question_without_a_type_is_single_choice() -> None:
    assert check_answer(SINGLE, 1) is True
    assert check_answer(SINGLE, 0) is False


@pytest.mark.parametrize("response", [True, "1", 1.0, None, [1]])
def test_single_choice_wants_an_option_index_and_nothing_else(response: Any) -> None:
    # True == 1 in Python: a boolean must not pass for the second option.
    assert check_answer(SINGLE, response) is False


def test_a_stored_key_that_is_no_index_is_compared_as_it_is() -> None:
    legacy = {"prompt": "?", "options": ["a", "b"], "answer": "a"}
    assert check_answer(legacy, "a") is True
    assert check_answer(legacy, "b") is False
    assert check_answer(legacy, 0) is False
    assert check_answer({"prompt": "?", "options": ["a"]}, None) is False


def test_multiple_choice_is_all_or_nothing_in_any_order() -> None:
    assert check_answer(MULTIPLE, [2, 0]) is True
    assert check_answer(MULTIPLE, [0]) is False
    assert check_answer(MULTIPLE, [0, 2, 3]) is False
    assert check_answer(MULTIPLE, []) is False
    assert check_answer(MULTIPLE, 0) is False
    assert check_answer(MULTIPLE, [0, True]) is False


@pytest.mark.parametrize(
    "response",
    [
        "Retrieval-augmented generation",
        "  retrieval-AUGMENTED   generation. ",
        "rag",
        "“RAG”",
        "Retrieval augmented\tgeneration!",
        "ＲＡＧ",  # full-width letters: NFKC makes them plain
    ],
)
def test_short_answers_match_after_normalisation(response: str) -> None:
    assert check_answer(SHORT, response) is True


@pytest.mark.parametrize("response", ["", "retrieval", "RAGs", 3, None])
def test_short_answers_that_differ_are_wrong(response: Any) -> None:
    assert check_answer(SHORT, response) is False


def test_normalisation_rules() -> None:
    assert normalise_text("  Hello,\n  World!  ") == "hello, world"
    assert normalise_text("Straße") == "strasse"  # case-folding, not lower()
    assert normalise_text("ﬁle") == "file"  # NFKC ligature
    assert normalise_text("(yes)") == "yes"
    assert normalise_text("-3") == "-3"  # a sign is not punctuation to drop
    assert normalise_text(".5") == ".5"
    assert normalise_text("...") == ""


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("3.50", "3.5"),
        ("03.5", "3.5"),
        ("1,000", "1000"),
        ("1e3", "1000"),
        ("-0.25", "-.25"),
        ("42.", "42"),
        ("＋7", "7"),
    ],
)
def test_numbers_compare_as_numbers(given: str, expected: str) -> None:
    assert texts_match(given, expected)


@pytest.mark.parametrize(
    ("given", "expected"), [("3.5", "35"), ("-3", "3"), ("1,00", "100"), ("0x10", "16")]
)
def test_different_numbers_do_not_match(given: str, expected: str) -> None:
    assert not texts_match(given, expected)


def test_a_short_answer_checks_its_number_answer() -> None:
    question = {"type": "short", "prompt": "?", "answer": "0.5", "accepted": []}
    assert check_answer(question, "0.50") is True
    assert check_answer(question, "1/2") is False


def test_a_scenario_is_never_scored() -> None:
    assert check_answer(SCENARIO, {"text": "I would ...", "met": [0, 1]}) is None
    assert check_answer(SCENARIO, None) is None


def test_an_unknown_type_is_not_scored_rather_than_guessed() -> None:
    assert check_answer({"type": "essay", "answer": "x"}, "x") is None


def test_score_is_the_share_of_scored_questions_right() -> None:
    results = check_answers([SINGLE, MULTIPLE, SHORT, SCENARIO], [1, [0], "rag"])
    assert results == [True, False, True, None]
    assert share_right(results) == pytest.approx(2 / 3)
    assert share_right(check_answers([SCENARIO], [{"met": [0]}])) is None
    assert share_right(check_answers([SINGLE, SHORT], [])) == 0.0


@pytest.mark.parametrize(
    ("question", "response", "problem"),
    [
        (SINGLE, "1", "an option index is a whole number"),
        (SINGLE, True, "an option index is a whole number"),
        (SINGLE, 3, "option 3 does not exist (0..2)"),
        (MULTIPLE, 0, "a multiple-choice answer is a list"),
        (MULTIPLE, [0, 7], "option 7 does not exist (0..3)"),
        (SHORT, 5, "a short answer is text"),
        (SCENARIO, {"met": [0]}, "a scenario response is"),
        (SCENARIO, {"text": "x", "met": [2]}, "'met' lists rubric criteria"),
    ],
)
def test_malformed_responses_are_named(
    question: dict[str, Any], response: Any, problem: str
) -> None:
    found = response_problem(question, response)
    assert found is not None and problem in found


@pytest.mark.parametrize(
    ("question", "response"),
    [
        (SINGLE, None),
        (SINGLE, 0),
        (MULTIPLE, []),
        (SHORT, ""),
        (SCENARIO, "just text"),
        (SCENARIO, {"text": "x", "met": [0, 1]}),
        ({"prompt": "?", "options": ["a", "b"], "answer": "a"}, "anything"),
    ],
)
def test_well_formed_responses_pass(question: dict[str, Any], response: Any) -> None:
    assert response_problem(question, response) is None
