"""Pure adaptive core: per-question answers as evidence on each question's own skill.

A quiz may mix questions on several skills and levels; when its questions carry their
own tags (``ActivityInfo.items``), answers are grouped by (skill, level, difficulty)
so each group is one observation of what it really measured (a question with its
own fitted guess and slip is a group of its own).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from adaptive.core.catalogue import ActivityInfo, ItemInfo, SkillLink
from adaptive.core.learner_types import Observation

_TAG_FIELDS = ("skill", "level", "difficulty")


def stored_items(
    questions: Sequence[Mapping[str, Any]],
    links: Sequence[SkillLink],
    skill_by_key: Mapping[str, int],
    *,
    target_level: int,
    difficulty: float,
) -> tuple[ItemInfo, ...]:
    """Each stored question's own skill, level and difficulty, with the activity's
    fallbacks (as ``QuestionDoc`` resolves them); empty when no question is tagged.

    Args:
        questions: the question rows of ``Activity.content``.
        links: the activity's skill tags, main skill first.
        skill_by_key: the framework's skill ids by key.
    """
    tagged = any(q.get(name) is not None for q in questions for name in _TAG_FIELDS)
    if not links or not tagged:
        return ()
    levels = {link.skill_id: link.level for link in links}
    out = []
    for q in questions:
        skill = skill_by_key.get(str(q.get("skill")), links[0].skill_id)
        level = q.get("level")
        own = q.get("difficulty")
        out.append(
            ItemInfo(
                skill,
                int(level) if level is not None else levels.get(skill, target_level),
                float(own) if own is not None else difficulty,
            )
        )
    return tuple(out)


def response_map(
    responses: Sequence[bool] | Mapping[int, bool] | None,
) -> dict[int, bool]:
    """Answers keyed by question index (a plain list is in question order)."""
    if responses is None:
        return {}
    if isinstance(responses, Mapping):
        return {int(k): bool(v) for k, v in responses.items()}
    return {i: bool(r) for i, r in enumerate(responses)}


def item_observations(
    activity: ActivityInfo,
    responses: Mapping[int, bool],
    at: dt.datetime,
    *,
    top_level: int,
    learn_scale: float,
    taught: frozenset[int],
) -> list[Observation]:
    """One observation per (skill, level, difficulty) group of answered questions.

    Answers to indexes the activity does not have are ignored; a question's weight
    is its skill's tag weight on the activity (1 for a skill the activity is not
    tagged with).

    Returns:
        The observations, in the order their groups first appear.
    """
    weights = {link.skill_id: link.weight for link in activity.skills}
    groups: dict[tuple[int, int, float, float | None, float | None], list[bool]] = {}
    for index, correct in sorted(responses.items()):
        if not 0 <= index < len(activity.items):
            continue
        item = activity.items[index]
        level = min(max(item.level, 1), top_level)
        key = (item.skill_id, level, item.difficulty, item.guess, item.slip)
        groups.setdefault(key, []).append(correct)
    return [
        Observation(
            skill_id=skill,
            level=level,
            outcome=sum(answers) / len(answers),
            at=at,
            weight=len(answers) * weights.get(skill, 1.0),
            difficulty=difficulty,
            learn_scale=learn_scale,
            guess=guess,
            slip=slip,
            ability_scale=0.0 if skill in taught else 1.0,
        )
        for (skill, level, difficulty, guess, slip), answers in groups.items()
    ]
