"""Pure: an authored activity as the engine sees it, and a module's placement questions.

One set of rules for production's module snapshot (``adaptive.module_snapshots``)
and the engine API's document catalogue (``adaptive.core.engine_catalogue``): what
each question measures, which activities are path steps, which questions the
placement check asks. A simulation then decides over exactly the catalogue a
learner gets.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from adaptive.core.answers import is_scored
from adaptive.core.catalogue import (
    CHECK_KINDS,
    PLACEMENT_KIND,
    ActivityInfo,
    ItemInfo,
    SkillLink,
)
from adaptive.core.fitted_items import FittedItem, default_items, fitted_question_items
from adaptive.core.item_evidence import stored_items
from adaptive.core.placement import Probe, ProbeTable


@dataclass(frozen=True, slots=True)
class AuthoredActivity:
    """An activity as authored: its engine view and which of its questions are scored."""

    info: ActivityInfo
    scored: tuple[int, ...]


def authored_activity(
    info: ActivityInfo,
    questions: Sequence[Mapping[str, Any]],
    skill_by_key: Mapping[str, int],
    fitted: Mapping[int, FittedItem] | None = None,
) -> AuthoredActivity:
    """``info`` (its tags, main skill first, and plain fields) completed from its
    question rows: how many are scored, and each question's own skill, level and
    difficulty, or the tenant's fitted values where ``fitted`` has them.
    """
    links: tuple[SkillLink, ...] = info.skills
    items = stored_items(
        questions,
        links,
        skill_by_key,
        target_level=info.target_level,
        difficulty=info.difficulty,
    )
    if fitted and links:
        items = fitted_question_items(
            items or default_items(info, len(questions)), fitted
        )
    scored = tuple(i for i, q in enumerate(questions) if is_scored(q))
    return AuthoredActivity(replace(info, n_items=len(scored), items=items), scored)


def path_activities(activities: Iterable[AuthoredActivity]) -> list[ActivityInfo]:
    """Every activity but the placement items: those feed the placement check only.

    A placement answer was just seen, so it is never the check that verifies a target.
    """
    return [a.info for a in activities if a.info.kind != PLACEMENT_KIND]


def module_probes(activities: Sequence[AuthoredActivity]) -> ProbeTable:
    """The placement questions: every scored question of every placement item, and
    for a skill with none, the first scored question of each of its checks (one per
    check, not every question: a quiz stays the mastery loop's).

    A probe's ref is ``"<activity id>:<question index>"``; its skill, level and
    difficulty are the question's own (``ActivityInfo.items``) or its activity's.
    """
    probes: list[Probe] = []
    fallback: list[Probe] = []
    for authored in activities:
        info = authored.info
        if not info.skills or not authored.scored:
            continue
        placement = info.kind == PLACEMENT_KIND
        if not placement and info.kind not in CHECK_KINDS:
            continue
        main = info.skills[0]
        for index in authored.scored if placement else authored.scored[:1]:
            item = (
                info.items[index]
                if index < len(info.items)
                else ItemInfo(main.skill_id, main.level, info.difficulty)
            )
            (probes if placement else fallback).append(
                Probe(
                    item.skill_id,
                    max(item.level, 1),
                    f"{info.id}:{index}",
                    item.difficulty,
                )
            )
    placed = {p.skill_id for p in probes}
    return ProbeTable.build(
        [*probes, *(p for p in fallback if p.skill_id not in placed)]
    )
