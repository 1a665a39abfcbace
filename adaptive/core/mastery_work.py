"""Pure: what the mastery loop must reach, and each skill's history as it reads it.

The work list is the role's targets plus implied prerequisites (prerequisites first);
``with_support`` raises a prerequisite while a skill above it keeps failing;
``check_level`` is the level a target is verified at.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from adaptive.core.catalogue import Catalog, SkillContent
from adaptive.core.decisions import AttemptRecord, Overrides
from adaptive.core.mastery_rounds import MasteryConfig, SkillEvent, check_rounds


@dataclass(frozen=True, slots=True)
class SkillWork:
    """One skill the learner must reach: its level and why (role, prerequisite...)."""

    skill_id: int
    level: int
    source: str


@dataclass
class SkillView:
    """A skill's history, as the loop reads it."""

    events: list[SkillEvent] = field(default_factory=list)
    taken: dict[int, int] = field(default_factory=dict)


def work_list(
    catalog: Catalog, targets: Mapping[int, int], overrides: Overrides
) -> list[SkillWork]:
    """Targets plus implied prerequisites, prerequisites first.

    An implied prerequisite's level is its lowest level with any content (teaching or
    check), so it is always teachable; a prerequisite with no content at all is not
    implied (the catalogue check reports it) and never blocks its dependants.
    """
    content = catalog.content
    need: dict[int, SkillWork] = {
        s: SkillWork(s, t, "role") for s, t in targets.items() if t > 0
    }
    stack = list(need)
    while stack:
        skill = stack.pop()
        for pre in catalog.graph.prerequisites_of(skill):
            if pre in need or pre in overrides.skipped_skills:
                continue
            levels = content.teach_levels(pre) + content.check_levels(pre)
            if not levels:
                continue
            need[pre] = SkillWork(pre, min(levels), "prerequisite")
            stack.append(pre)
    rank = {s: i for i, s in enumerate(overrides.skill_order)}
    order = {s: i for i, s in enumerate(catalog.graph.order)}
    # Prerequisite order first: a manager's order only reorders independent skills.
    return sorted(
        need.values(),
        key=lambda w: (order.get(w.skill_id, len(order)), rank.get(w.skill_id, 0)),
    )


NO_HISTORY = SkillView()  # shared and never written: read-only by plan_skill


def with_support(
    catalog: Catalog,
    work: list[SkillWork],
    views: Mapping[int, SkillView],
    cfg: MasteryConfig,
) -> list[SkillWork]:
    """The next-easier path for a skill that keeps failing its check: after
    ``support_after`` failed rounds since its last pass, each of its prerequisites is
    also worked on at the highest level with a check below the skill's checked level
    (if that is above what it already needs). Learning above a weak foundation is
    slow, so re-teaching the skill alone may never get there. A support level that
    cannot be reached never blocks (``decide`` treats it as met)."""
    content = catalog.content
    by_skill = {w.skill_id: w for w in work}
    raised: dict[int, int] = {}
    for w in work:
        view = views.get(w.skill_id)
        if view is None or sum(e.check for e in view.events) < cfg.support_after:
            continue  # cheap first: too few checks to have failed enough rounds
        pres = [
            p
            for p in catalog.graph.prerequisites_of(w.skill_id)
            if p in by_skill and by_skill[p].source != "role"
        ]
        level = check_level(content, w.skill_id, w.level)
        if not pres or level is None or level <= 1:
            continue
        if check_rounds(catalog, view.events, level, cfg).failed < cfg.support_after:
            continue
        for pre in pres:
            current = by_skill[pre]
            below = [lv for lv in content.check_levels(pre) if lv < level]
            if below and below[-1] > max(current.level, raised.get(pre, 0)):
                raised[pre] = below[-1]
    if not raised:
        return work
    return [
        SkillWork(w.skill_id, raised[w.skill_id], "support")
        if w.skill_id in raised and raised[w.skill_id] > w.level
        else w
        for w in work
    ]


def skill_views(
    catalog: Catalog, history: Sequence[AttemptRecord], skills: set[int]
) -> dict[int, SkillView]:
    """Views of the skills in ``skills`` that have history (others: ``NO_HISTORY``)."""
    views: dict[int, SkillView] = {}
    checks = catalog.content.check_ids
    for attempt in history:
        activity = catalog.activities.get(attempt.activity_id)
        if activity is None or not activity.skills:
            continue
        main = activity.skills[0]
        if main.skill_id not in skills:
            continue
        view = views.get(main.skill_id)
        if view is None:
            view = views[main.skill_id] = SkillView()
        check = activity.id in checks
        view.events.append(
            SkillEvent(attempt.at, activity.id, check, main.level, attempt.score)
        )
        view.taken[activity.id] = view.taken.get(activity.id, 0) + 1
    return views


def check_level(content: SkillContent, skill: int, target: int) -> int | None:
    """The level a target is verified at: the target's own if it has a check, else
    the nearest level above with one (the learner is then taught up to that level,
    since a check above the target is the only evidence that it is met)."""
    levels = [lv for lv in content.checks.get(skill, {}) if lv >= target]
    return min(levels) if levels else None
