"""Bench: the mastery loop's inputs as main built them before the next-step speed work.

``skill_views`` here is main's eager scan (every view of every work skill, one
``SkillEvent`` per attempt, on every decision) and ``work_list`` rebuilds the list
from the graph on every decision (``build_work_list``, no memo). ``unoptimised()``
swaps both into ``adaptive.core.mastery`` for the duration of a block, so the bench
times the old path beside the new one in the same run, and the equivalence test
(``tests/unit/test_engine_next_step_speed.py``) takes its reference decisions from it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from adaptive.core import mastery
from adaptive.core.catalogue import Catalog
from adaptive.core.decisions import AttemptRecord, Overrides
from adaptive.core.mastery_rounds import SkillEvent
from adaptive.core.mastery_work import SkillView, SkillWork, build_work_list


def skill_views(
    catalog: Catalog, history: Sequence[AttemptRecord], skills: set[int]
) -> dict[int, SkillView]:
    """Main's scan: a full view of every skill in ``skills`` that has history."""
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


def work_list(
    catalog: Catalog, targets: Mapping[int, int], overrides: Overrides
) -> list[SkillWork]:
    """Main's work list: built from the graph on every call."""
    return build_work_list(catalog, targets, overrides)


@contextmanager
def unoptimised() -> Iterator[None]:
    """Within the block, ``adaptive.core.mastery.decide`` runs main's eager path."""
    # The loop's module imports both names; swapping them there is the old path.
    saved = mastery.skill_views, mastery.work_list  # type: ignore[attr-defined]
    mastery.skill_views = skill_views  # type: ignore[attr-defined,assignment]
    mastery.work_list = work_list
    try:
        yield
    finally:
        mastery.skill_views, mastery.work_list = saved  # type: ignore[attr-defined]
