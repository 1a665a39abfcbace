"""Pure adaptive core: where a catalogue's activities are validated (questions apart).

Activities are the largest part of a catalogue and the one authors edit most; their
rules sit apart from the framework-wide ones in ``catalogue_check``, and each
question's from theirs in ``catalogue_check_questions``.
"""

from __future__ import annotations

import re
from typing import Any

from adaptive.core.answers import SCENARIO, SCORED_TYPES
from adaptive.core.catalogue_check_questions import check_question
from adaptive.core.catalogue_checker import Checker
from adaptive.core.catalogue_format import (
    ACTIVITY_TYPES,
    MAX_DIFFICULTY,
    MAX_NAME,
    MAX_URL,
    QUESTION_TYPES,
    URL_TYPES,
    XAPI_TYPE,
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
    "activity_id",
    "skills",
    "content",
)
# An absolute http(s) URL (xAPI content is launched in the browser) and an IRI.
_LAUNCH_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$")
_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:\S+$")
_TAG_FIELDS = ("skill", "weight", "level")
_CONTENT_FIELDS = ("markdown", "questions")


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
    activity_id = _xapi_fields(obj, path, check, kind, url)
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
        activity_id=activity_id,
    )


def _xapi_fields(
    obj: dict[str, Any], path: Path, check: Checker, kind: str, url: str | None
) -> str | None:
    """An ``xapi`` activity's launch ``url`` and ``activity_id``; the IRI it returns."""
    if kind != XAPI_TYPE:
        if "activity_id" in obj:
            check.error(
                (*path, "activity_id"), "only an activity of type 'xapi' has one"
            )
        return None
    if not url:
        check.error(
            (*path, "url"), "an xapi activity needs the https URL that launches it"
        )
    elif not _LAUNCH_URL.match(url):
        check.error((*path, "url"), f"must be an absolute http(s) URL, got {url!r}")
    if obj.get("activity_id") is None:
        check.error(
            (*path, "activity_id"),
            "an xapi activity needs the activity IRI its statements name",
        )
        return None
    activity_id = check.string(obj, path, "activity_id", max_len=MAX_URL)
    if activity_id and not _IRI.match(activity_id):
        check.error(
            (*path, "activity_id"),
            f"must be an IRI (e.g. https://...), got {activity_id!r}",
        )
    return activity_id or None


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
    # External xAPI content brings its own body; a Markdown intro is optional.
    markdown = check.string(
        content,
        where,
        "markdown",
        required=not needs_questions and kind != XAPI_TYPE,
    )
    questions: list[QuestionDoc] = []
    for i, item in enumerate(
        check.array(content, where, "questions", required=needs_questions)
    ):
        question = check_question(
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
