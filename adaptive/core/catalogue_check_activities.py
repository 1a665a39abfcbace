"""Pure adaptive core: where a catalogue's activities and their questions are validated.

Activities are the largest part of a catalogue and the one authors edit most; their
rules sit apart from the framework-wide ones in ``catalogue_check``.
"""

from __future__ import annotations

from typing import Any

from adaptive.core.answers import (
    ANSWER_TYPES,
    MULTIPLE,
    SCENARIO,
    SCORED_TYPES,
    SHORT,
    SINGLE,
)
from adaptive.core.catalogue_checker import Checker
from adaptive.core.catalogue_format import (
    ACTIVITY_TYPES,
    MAX_DIFFICULTY,
    MAX_NAME,
    MAX_URL,
    QUESTION_TYPES,
    URL_TYPES,
    ActivityDoc,
    Path,
    QuestionDoc,
    SkillTagDoc,
)

_ACTIVITY_FIELDS = (
    "key",
    "title",
    "type",
    "duration_min",
    "difficulty",
    "target_level",
    "explanation_group",
    "url",
    "skills",
    "content",
)
_TAG_FIELDS = ("skill", "weight", "level")
_CONTENT_FIELDS = ("markdown", "questions")
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


def check_activity(
    value: Any, path: Path, check: Checker, skill_keys: set[str], max_level: int
) -> ActivityDoc | None:
    """One activity: type, timing, difficulty, skill tags and its content."""
    obj = check.obj(value, path, _ACTIVITY_FIELDS)
    if obj is None:
        return None
    key = check.key(obj, path)
    title = check.string(obj, path, "title", max_len=MAX_NAME)
    kind = check.string(obj, path, "type")
    if kind and kind not in ACTIVITY_TYPES:
        check.error(
            (*path, "type"),
            f"unknown type {kind!r} (one of: {', '.join(ACTIVITY_TYPES)})",
        )
    duration = check.number(obj, path, "duration_min")
    if duration is not None and duration <= 0:
        check.error(
            (*path, "duration_min"), f"must be more than 0 minutes, got {duration:g}"
        )
    difficulty = check.number(obj, path, "difficulty", default=0.0)
    if difficulty is not None and not -MAX_DIFFICULTY <= difficulty <= MAX_DIFFICULTY:
        check.error(
            (*path, "difficulty"),
            f"must be between -{MAX_DIFFICULTY:g} and {MAX_DIFFICULTY:g} "
            f"(0 = typical for its level), got {difficulty:g}",
        )
    group: str | None = None
    if obj.get("explanation_group") is not None:
        group = check.key(obj, path, "explanation_group")
    url: str | None = None
    if obj.get("url") is not None:
        url = check.string(obj, path, "url", max_len=MAX_URL)
    if kind in URL_TYPES:
        _check_opened_url(obj, path, check, kind, url)
    tags = _tags(
        check.array(obj, path, "skills", required=True),
        path,
        check,
        skill_keys,
        key,
        max_level,
    )
    if "skills" in obj and isinstance(obj["skills"], list) and not obj["skills"]:
        check.error(
            (*path, "skills"), "an activity must teach or assess at least one skill"
        )
    if "target_level" in obj:
        target = check.integer(obj, path, "target_level")
        target_level = check.level(
            target, (*path, "target_level"), max_level, minimum=1
        )
    else:
        target_level = min(max((t.level for t in tags), default=1), max_level)
    markdown, questions = _content(obj, path, check, kind, skill_keys, max_level)
    return ActivityDoc(
        key=key,
        title=title,
        type=kind,
        duration_min=duration or 0.0,
        difficulty=difficulty if difficulty is not None else 0.0,
        target_level=target_level,
        explanation_group=group,
        url=url,
        skills=tags,
        markdown=markdown,
        questions=questions,
        line=check.line(path),
    )


def _tags(
    items: list[Any],
    path: Path,
    check: Checker,
    skill_keys: set[str],
    activity: str,
    max_level: int,
) -> tuple[SkillTagDoc, ...]:
    tags: list[SkillTagDoc] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        where: Path = (*path, "skills", i)
        tag = check.obj(item, where, _TAG_FIELDS)
        if tag is None:
            continue
        skill = check.string(tag, where, "skill")
        if skill and skill not in skill_keys:
            check.error(
                (*where, "skill"),
                f"unknown skill {skill!r} (tagged on activity {activity!r})",
            )
        if skill in seen:
            check.error(
                (*where, "skill"), f"skill {skill!r} is tagged twice on {activity!r}"
            )
        seen.add(skill)
        weight = check.number(tag, where, "weight", default=1.0)
        if weight is not None and weight <= 0:
            check.error(
                (*where, "weight"), f"weight must be more than 0, got {weight:g}"
            )
        level = check.integer(tag, where, "level")
        tags.append(
            SkillTagDoc(
                skill,
                weight if weight is not None else 1.0,
                check.level(level, (*where, "level"), max_level, minimum=1),
            )
        )
    return tuple(tags)


def _content(
    obj: dict[str, Any],
    path: Path,
    check: Checker,
    kind: str,
    skill_keys: set[str],
    max_level: int,
) -> tuple[str, tuple[QuestionDoc, ...]]:
    where: Path = (*path, "content")
    if "content" not in obj:
        check.error(path, "missing required field 'content'")
        return "", ()
    content = check.obj(obj["content"], where, _CONTENT_FIELDS)
    if content is None:
        return "", ()
    needs_questions = kind in QUESTION_TYPES
    markdown = check.string(content, where, "markdown", required=not needs_questions)
    questions: list[QuestionDoc] = []
    for i, item in enumerate(
        check.array(content, where, "questions", required=needs_questions)
    ):
        question = _question(
            item, (*where, "questions", i), check, skill_keys, max_level
        )
        if question is not None:
            questions.append(question)
    raw = content.get("questions")
    if needs_questions and isinstance(raw, list):
        if not raw:
            check.error((*where, "questions"), f"a {kind} needs at least one question")
        if kind == "placement_item" and len(raw) > 1:
            check.error(
                (*where, "questions"), "a placement item asks exactly one question"
            )
    types = {q.type for q in questions}
    if kind in ("quiz", "placement_item") and questions and not types & SCORED_TYPES:
        check.error(
            (*where, "questions"),
            f"a {kind} needs a scored question (single, multiple or short): a "
            "scenario's self-assessment cannot check a skill",
        )
    if kind == "placement_item" and SCENARIO in types:
        check.error(
            (*where, "questions"), "a placement item cannot be a scenario question"
        )
    if kind == SCENARIO and questions and SCENARIO not in types:
        check.error(
            (*where, "questions"), "a scenario activity needs a scenario question"
        )
    return markdown, tuple(questions)


def _check_opened_url(
    obj: dict[str, Any], path: Path, check: Checker, kind: str, url: str | None
) -> None:
    """A video or link activity opens its ``url``: it must be a web address."""
    if url is None:
        if "url" not in obj:
            check.error(path, f"a {kind} activity needs a 'url' (the page it opens)")
        return
    # https only: the LMS page is https, and a plain-http page opened from it
    # would carry the learner off to an address anyone on the network can change.
    if not url.startswith("https://") or " " in url:
        check.error(
            (*path, "url"),
            f"a {kind} opens its url in the browser: it must start with https:// "
            f"(got {url[:60]!r})",
        )


def _question(
    value: Any, path: Path, check: Checker, skill_keys: set[str], max_level: int
) -> QuestionDoc | None:
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
