"""Pure: what the mastery loop must reach, and each skill's history as it reads it.

The work list is the role's targets plus implied prerequisites (prerequisites first);
``with_support`` raises a prerequisite while a skill above it keeps failing;
``check_level`` is the level a target is verified at.
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

from adaptive.core.catalogue import Catalog, SkillContent
from adaptive.core.decisions import AttemptRecord, Overrides
from adaptive.core.mastery_rounds import MasteryConfig, SkillEvent, check_rounds


@dataclass(frozen=True, slots=True)
class SkillWork:
    """One skill the learner must reach: its level and why (role, prerequisite...)."""

    skill_id: int
    level: int
    source: str
    #: For a foundation: one level below the highest level a skill resting on it is
    #: worked to, the level that learning there builds on (0 when none is higher).
    builds_on: int = 0


@dataclass
class SkillView:
    """A skill's history, as the loop reads it."""

    events: list[SkillEvent] = field(default_factory=list)
    taken: dict[int, int] = field(default_factory=dict)


# Work lists kept per catalogue (a role's list is the same for all its learners);
# past this many the memo starts again, so odd target sets cannot grow it for ever.
WORK_LISTS_KEPT = 64


def work_list(
    catalog: Catalog, targets: Mapping[int, int], overrides: Overrides
) -> list[SkillWork]:
    """``build_work_list``, memoised on the catalogue by its inputs.

    The list depends only on the catalogue, the targets (in their order, which
    breaks ties) and two overrides; building it walks the graph, which was a third of
    a decision's time at 1,000 skills.
    """
    key = (tuple(targets.items()), overrides.skipped_skills, overrides.skill_order)
    lists = cast(
        dict[Hashable, tuple[SkillWork, ...]],
        catalog.memo.setdefault("work_list", {}),
    )
    found = lists.get(key)
    if found is None:
        if len(lists) >= WORK_LISTS_KEPT:
            lists.clear()
        found = lists[key] = tuple(build_work_list(catalog, targets, overrides))
    return list(found)


def build_work_list(
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
        builds_on = taught_to(content, need[skill]) - 1
        for pre in catalog.graph.prerequisites_of(skill):
            found = need.get(pre)
            if found and found.source == "prerequisite" and builds_on > found.builds_on:
                need[pre] = SkillWork(pre, found.level, found.source, builds_on)
                stack.append(pre)
    order = {s: i for i, s in enumerate(catalog.graph.order)}
    if not overrides.skill_order:
        return sorted(need.values(), key=lambda w: order.get(w.skill_id, len(order)))
    return manager_ordered(catalog, need, overrides.skill_order, order)


def manager_ordered(
    catalog: Catalog,
    need: Mapping[int, SkillWork],
    skill_order: Sequence[int],
    order: Mapping[int, int],
) -> list[SkillWork]:
    """Prerequisites first, and among the skills whose prerequisites are placed, the
    manager's order (a prerequisite as early as the first skill ordered above it;
    skills not ordered after, in the catalogue's order).

    Sorting by catalogue position and breaking ties by the manager's rank never used
    the rank: every skill has its own position, so a manager's order changed nothing.
    """
    waiting = {
        s: {p for p in catalog.graph.prerequisites_of(s) if p in need} for s in need
    }
    above: dict[int, list[int]] = {}
    for skill, pres in waiting.items():
        for pre in pres:
            above.setdefault(pre, []).append(skill)
    # A prerequisite takes the rank of the earliest skill the manager put above it.
    rank = {s: i for i, s in enumerate(skill_order)}
    unranked = len(skill_order)
    for skill in sorted(need, key=lambda s: order.get(s, len(order)), reverse=True):
        ranks = [rank.get(skill, unranked)]
        ranks += [rank.get(d, unranked) for d in above.get(skill, ())]
        rank[skill] = min(ranks)

    def key(skill: int) -> tuple[int, int]:
        return rank[skill], order.get(skill, len(order))

    ready = [(*key(s), s) for s, pres in waiting.items() if not pres]
    heapq.heapify(ready)
    placed: list[SkillWork] = []
    while ready:
        skill = heapq.heappop(ready)[-1]
        placed.append(need[skill])
        for other in above.get(skill, ()):
            waiting[other].discard(skill)
            if not waiting[other]:
                heapq.heappush(ready, (*key(other), other))
    # A cycle (which the catalogue check refuses) would leave skills unplaced.
    seen = {w.skill_id for w in placed}
    rest = sorted((s for s in need if s not in seen), key=key)
    return placed + [need[s] for s in rest]


NO_HISTORY = SkillView()  # shared and never written: read-only by plan_skill


def taught_to(content: SkillContent, work: SkillWork) -> int:
    """The level a skill is taught up to: its check's (its own level's, or the
    nearest above with one), except a foundation checked only above its level,
    which is taught to what the skills resting on it build on."""
    level = check_level(content, work.skill_id, work.level) or work.level
    if work.source == "prerequisite" and level > work.level:
        return max(work.level, work.builds_on)
    return level


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
        if check_count(views, w.skill_id) < cfg.support_after:
            continue  # cheap first: too few checks to have failed enough rounds
        view = views[w.skill_id]
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


class SkillViews(Mapping[int, SkillView]):
    """Each skill's view, built on first read from one grouping pass over the history.

    A decision reads the views of the few skills up to its first unmet one (and
    ``with_support`` only counts checks), so events are made only for those: building
    every view was half a decision's time and most of its allocations, whose young
    collections promoted them and so brought on full collections of the heap.
    """

    def __init__(
        self, catalog: Catalog, history: Sequence[AttemptRecord], skills: set[int]
    ) -> None:
        self._groups: dict[int, list[AttemptRecord]] = {}
        self._checks: dict[int, int] = {}
        self._made: dict[int, SkillView] = {}
        mains = catalog.main_links
        for attempt in history:
            main = mains.get(attempt.activity_id)
            if main is None or main[0] not in skills:
                continue
            group = self._groups.get(main[0])
            if group is None:
                group = self._groups[main[0]] = []
            group.append(attempt)
            if main[2]:
                self._checks[main[0]] = self._checks.get(main[0], 0) + 1
        self._mains = mains

    def __getitem__(self, skill: int) -> SkillView:
        view = self._made.get(skill)
        if view is None:
            view = self._made[skill] = self._build(self._groups[skill])
        return view

    def __iter__(self) -> Iterator[int]:
        return iter(self._groups)

    def __len__(self) -> int:
        return len(self._groups)

    def __contains__(self, skill: object) -> bool:
        return skill in self._groups

    def checks(self, skill: int) -> int:
        """How many of the skill's attempts were checks (no view is built)."""
        return self._checks.get(skill, 0)

    def _build(self, attempts: list[AttemptRecord]) -> SkillView:
        view = SkillView()
        for attempt in attempts:
            _, level, check = self._mains[attempt.activity_id]
            view.events.append(
                SkillEvent(attempt.at, attempt.activity_id, check, level, attempt.score)
            )
            view.taken[attempt.activity_id] = view.taken.get(attempt.activity_id, 0) + 1
        return view


def skill_views(
    catalog: Catalog, history: Sequence[AttemptRecord], skills: set[int]
) -> SkillViews:
    """Views of the skills in ``skills`` that have history (others: ``NO_HISTORY``)."""
    return SkillViews(catalog, history, skills)


def check_count(views: Mapping[int, SkillView], skill: int) -> int:
    """How many check attempts a skill has (without building its view if lazy)."""
    if isinstance(views, SkillViews):
        return views.checks(skill)
    view = views.get(skill)
    return 0 if view is None else sum(e.check for e in view.events)


def check_level(content: SkillContent, skill: int, target: int) -> int | None:
    """The level a target is verified at: the target's own if it has a check, else
    the nearest level above with one (the learner is then taught up to that level,
    since a check above the target is the only evidence that it is met)."""
    levels = [lv for lv in content.checks.get(skill, {}) if lv >= target]
    return min(levels) if levels else None
