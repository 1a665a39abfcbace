"""Pure adaptive core: where a catalogue question of each type is validated.

Each type has its own fields (``adaptive.core.answers`` describes them and scores the
answers); every problem is reported on the field it is about.
"""

from __future__ import annotations

from typing import Any

from adaptive.core.answers import ANSWER_TYPES, MULTIPLE, SCENARIO, SHORT, SINGLE
from adaptive.core.catalogue_checker import Checker
from adaptive.core.catalogue_format import MAX_DIFFICULTY, MAX_NAME, Path, QuestionDoc

_QUESTION_FIELDS = (
    "prompt",
    "options",
    "answer",
    "explanation",
    "skill",
    "level",
    "difficulty",
    "type",
    "accepted",
    "rubric",
)
MAX_OPTIONS = 6
# A prompt or an explanation is Markdown of a few paragraphs at most.
MAX_TEXT = 10_000


def check_question(
    value: Any, path: Path, check: Checker, skill_keys: set[str], max_level: int
) -> QuestionDoc | None:
    """One question of any type: its own fields, then its skill, level and difficulty."""
    obj = check.obj(value, path, _QUESTION_FIELDS)
    if obj is None:
        return None
    kind = SINGLE
    if obj.get("type") is not None:
        kind = check.string(obj, path, "type")
        if kind not in ANSWER_TYPES:
            check.error(
                (*path, "type"),
                f"unknown question type {kind!r} (one of: {', '.join(ANSWER_TYPES)})",
            )
            return None
    prompt = check.string(obj, path, "prompt", max_len=MAX_TEXT)
    explanation = check.string(obj, path, "explanation", max_len=MAX_TEXT)
    options: tuple[str, ...] = ()
    answer: int | tuple[int, ...] | str | None = None
    accepted: tuple[str, ...] = ()
    rubric: tuple[str, ...] = ()
    if kind in (SINGLE, MULTIPLE):
        options = _options(obj, path, check)
        answer = _choice_answer(obj, path, check, kind)
    else:
        for name in ("options", "answer") if kind == SCENARIO else ("options",):
            if name in obj:
                check.error(
                    (*path, name),
                    f"a {kind} question has no {name!r}"
                    + (" (use 'rubric')" if kind == SCENARIO else ""),
                )
    if kind == SHORT:
        answer = check.string(obj, path, "answer", max_len=MAX_NAME)
        accepted = _texts(obj, path, check, "accepted", required=False)
    elif "accepted" in obj:
        check.error((*path, "accepted"), "only a short-answer question has 'accepted'")
    if kind == SCENARIO:
        rubric = _texts(obj, path, check, "rubric", required=True)
        if "rubric" in obj and not rubric:
            check.error((*path, "rubric"), "a scenario needs at least one criterion")
    elif "rubric" in obj:
        check.error((*path, "rubric"), "only a scenario question has a 'rubric'")
    skill: str | None = None
    if obj.get("skill") is not None:
        skill = check.string(obj, path, "skill")
        if skill and skill not in skill_keys:
            check.error((*path, "skill"), f"unknown skill {skill!r} (on a question)")
    level: int | None = None
    if obj.get("level") is not None:
        raw_level = check.integer(obj, path, "level")
        if raw_level is not None:
            level = check.level(raw_level, (*path, "level"), max_level, minimum=1)
    difficulty: float | None = None
    if obj.get("difficulty") is not None:
        difficulty = check.number(obj, path, "difficulty")
        if difficulty is not None and not (
            -MAX_DIFFICULTY <= difficulty <= MAX_DIFFICULTY
        ):
            check.error(
                (*path, "difficulty"),
                f"must be between -{MAX_DIFFICULTY:g} and {MAX_DIFFICULTY:g} "
                f"(0 = typical for its level), got {difficulty:g}",
            )
    return QuestionDoc(
        prompt,
        options,
        answer,
        explanation,
        skill=skill,
        level=level,
        difficulty=difficulty,
        type=kind,
        accepted=accepted,
        rubric=rubric,
    )


def _options(obj: dict[str, Any], path: Path, check: Checker) -> tuple[str, ...]:
    options: list[str] = []
    for i, option in enumerate(check.array(obj, path, "options", required=True)):
        if not isinstance(option, str) or not option.strip():
            check.error((*path, "options", i), "each option must be a non-empty string")
        elif option in options:
            check.error((*path, "options", i), f"option {option!r} is listed twice")
        else:
            options.append(option)
    raw_options = obj.get("options")
    if isinstance(raw_options, list) and not 2 <= len(raw_options) <= MAX_OPTIONS:
        check.error(
            (*path, "options"),
            f"needs 2 to {MAX_OPTIONS} options, got {len(raw_options)}",
        )
    return tuple(options)


def _choice_answer(
    obj: dict[str, Any], path: Path, check: Checker, kind: str
) -> int | tuple[int, ...] | None:
    """A single choice's option index, or a multiple choice's list of them."""
    raw_options = obj.get("options")
    n = len(raw_options) if isinstance(raw_options, list) else None
    hint = f"0..{n - 1}" if n else "the options"
    if kind == SINGLE:
        answer = check.integer(obj, path, "answer")
        if answer is not None and n is not None and not 0 <= answer < n:
            check.error(
                (*path, "answer"),
                f"answer is the 0-based index of the right option; {answer} is not in "
                f"{hint}",
            )
        return answer or 0
    where: Path = (*path, "answer")
    raw = obj.get("answer")
    if "answer" not in obj:
        check.error(path, "missing required field 'answer'")
        return ()
    if not isinstance(raw, list) or not raw:
        check.error(
            where,
            "a multiple-choice answer is a non-empty list of 0-based option indices, "
            f"got {raw!r}",
        )
        return ()
    out: list[int] = []
    for i, item in enumerate(raw):
        if not isinstance(item, int) or isinstance(item, bool):
            check.error((*where, i), f"must be an option index, got {item!r}")
        elif n is not None and not 0 <= item < n:
            check.error((*where, i), f"{item} is not in {hint}")
        elif item in out:
            check.error((*where, i), f"option {item} is listed twice")
        else:
            out.append(item)
    return tuple(sorted(out))


def _texts(
    obj: dict[str, Any], path: Path, check: Checker, name: str, *, required: bool
) -> tuple[str, ...]:
    out: list[str] = []
    for i, item in enumerate(check.array(obj, path, name, required=required)):
        if not isinstance(item, str) or not item.strip():
            check.error((*path, name, i), "each entry must be a non-empty string")
        elif len(item) > MAX_NAME:
            check.error((*path, name, i), f"longer than {MAX_NAME} characters")
        else:
            out.append(item)
    return tuple(out)
