"""Pure adaptive core: the one home for checking a learner's answer to a question.

Every place that asks "was this answer right?" (attempt scoring, per-question
evidence, the placement check, item training and the player's feedback) calls
``check_answer``, so a question type is scored the same way everywhere.

Question types (``question["type"]``, ``single`` when absent):

- ``single``: ``answer`` is the index of the right option; the response an index.
- ``multiple``: ``answer`` is the list of right option indices; the response a list
  of indices. All or nothing: right only when exactly the right options are chosen.
- ``short``: ``answer`` is the expected text, ``accepted`` lists alternatives; the
  response is text, matched after ``normalise_text`` (numbers as numbers).
- ``scenario``: a scenario or role-play prompt the learner answers in their own
  words, then rates against the author's ``rubric``. It is not scored: a learner
  grading themselves with the rubric in view cannot show what they know the way a
  keyed answer does, so it is a learning opportunity, never a check.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

SINGLE = "single"
MULTIPLE = "multiple"
SHORT = "short"
SCENARIO = "scenario"
#: Every question type, in the order the author guide lists them.
ANSWER_TYPES = (SINGLE, MULTIPLE, SHORT, SCENARIO)
#: Types with an answer key: only these count towards a score.
SCORED_TYPES = frozenset({SINGLE, MULTIPLE, SHORT})

# A number as people type one: an optional sign, digits (optionally grouped in
# thousands with commas), an optional decimal part and an optional exponent.
_NUMBER = re.compile(
    r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:e[+-]?\d+)?$", re.IGNORECASE
)
_SPACE = re.compile(r"\s+")


def question_type(question: Mapping[str, Any]) -> str:
    """The question's type; a question without one is single-choice."""
    return str(question.get("type") or SINGLE)


def is_scored(question: Mapping[str, Any]) -> bool:
    """Whether the question has an answer key (a scenario's self-rating has none)."""
    return question_type(question) in SCORED_TYPES


def scored_count(questions: Iterable[Mapping[str, Any]]) -> int:
    """How many of ``questions`` count towards a score."""
    return sum(1 for q in questions if is_scored(q))


def _strip_punctuation(text: str) -> str:
    """Drop punctuation around the text, but keep a number's sign or leading point."""
    start, end = 0, len(text)
    while end > start and unicodedata.category(text[end - 1]).startswith("P"):
        end -= 1
    while start < end and unicodedata.category(text[start]).startswith("P"):
        rest = text[start + 1 : end]
        if text[start] in "+-." and rest[:1].isdigit():
            break
        if text[start] in "+-" and rest[:1] == "." and rest[1:2].isdigit():
            break
        start += 1
    return text[start:end].strip()


def normalise_text(text: str) -> str:
    """Text as short answers compare it: Unicode NFKC, case-folded, whitespace
    trimmed and collapsed, surrounding punctuation dropped."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _strip_punctuation(_SPACE.sub(" ", folded).strip())


def _number(text: str) -> Decimal | None:
    if not text or not _NUMBER.match(text) or not any(c.isdigit() for c in text):
        return None
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None


def texts_match(given: str, expected: str) -> bool:
    """Whether two short answers say the same: equal when normalised, or the same
    number however it is written (``3.50`` = ``3.5``, ``1,000`` = ``1000``)."""
    a, b = normalise_text(given), normalise_text(expected)
    if a == b:
        return True
    x, y = _number(a), _number(b)
    return x is not None and y is not None and x == y


def _index(value: Any) -> int | None:
    # bool is an int in Python; a true/false is not an option index.
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _indices(value: Any) -> frozenset[int] | None:
    if not isinstance(value, list | tuple):
        return None
    out = [_index(v) for v in value]
    if any(i is None for i in out):
        return None
    return frozenset(i for i in out if i is not None)


def accepted_texts(question: Mapping[str, Any]) -> tuple[str, ...]:
    """A short-answer question's expected text followed by its alternatives."""
    accepted = question.get("accepted") or ()
    texts = [question.get("answer"), *accepted]
    return tuple(t for t in texts if isinstance(t, str))


def check_answer(question: Mapping[str, Any], response: Any) -> bool | None:
    """Whether ``response`` answers ``question`` right; None when it is not scored.

    A malformed response (text for a choice, an index for a short answer, nothing
    at all) is a wrong answer, never an error: the learner's attempt still counts.

    Args:
        question: one question as stored in ``Activity.content``.
        response: what the learner gave (an index, a list of indices or text).
    """
    kind = question_type(question)
    if kind == SINGLE:
        key = question.get("answer")
        if _index(key) is None:
            # A key that is no option index was stored without the catalogue check
            # (hand-made content): it is compared as it is, as it always was.
            return response is not None and response == key
        given = _index(response)
        return given is not None and given == key
    if kind == MULTIPLE:
        chosen = _indices(response)
        right = _indices(question.get("answer"))
        return chosen is not None and right is not None and chosen == right
    if kind == SHORT:
        if not isinstance(response, str):
            return False
        return any(texts_match(response, text) for text in accepted_texts(question))
    return None


def _option_problem(question: Mapping[str, Any], value: Any) -> str | None:
    n = len(question.get("options") or ())
    index = _index(value)
    if index is None:
        return f"an option index is a whole number, got {value!r}"
    if not 0 <= index < n:
        return f"option {index} does not exist (0..{n - 1})"
    return None


def response_problem(question: Mapping[str, Any], response: Any) -> str | None:
    """Why ``response`` is not the shape of an answer to ``question``, or None.

    ``None`` (unanswered) is always acceptable: it is a wrong answer, not bad input.
    A client that sends text for a choice has a bug, and scoring its request as
    wrong would record something the learner never answered.
    """
    kind = question_type(question)
    if response is None:
        return None
    if kind == SINGLE:
        if _index(question.get("answer")) is None:
            return None  # hand-made content: any value is compared as it is
        return _option_problem(question, response)
    if kind == MULTIPLE:
        if not isinstance(response, list):
            return f"a multiple-choice answer is a list of option indices, got {response!r}"
        problems = [p for v in response if (p := _option_problem(question, v))]
        return problems[0] if problems else None
    if kind == SHORT:
        if not isinstance(response, str):
            return f"a short answer is text, got {response!r}"
        return None
    if kind == SCENARIO:
        if isinstance(response, str):
            return None
        if not isinstance(response, dict) or not isinstance(response.get("text"), str):
            return 'a scenario response is {"text": "...", "met": [criteria]}'
        met = response.get("met", [])
        n = len(question.get("rubric") or ())
        if not isinstance(met, list) or any(
            _index(i) is None or not 0 <= i < n for i in met
        ):
            return f"'met' lists rubric criteria by index (0..{n - 1}), got {met!r}"
    return None


def check_answers(
    questions: Sequence[Mapping[str, Any]], responses: Sequence[Any]
) -> list[bool | None]:
    """``check_answer`` for each question in order; a missing response is wrong."""
    return [
        check_answer(q, responses[i] if i < len(responses) else None)
        for i, q in enumerate(questions)
    ]


def share_right(results: Sequence[bool | None]) -> float | None:
    """The share of scored questions answered right; None when none is scored."""
    scored = [r for r in results if r is not None]
    if not scored:
        return None
    return sum(1 for r in scored if r) / len(scored)
