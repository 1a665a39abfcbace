"""Pure: which foundations (implied prerequisites outside the role) a learner needs now.

A foundation is there so that teaching the skills above it works: a learner who
already shows a role skill needs none of that skill's foundations. So a role skill
is checked before its foundations are worked on, and a foundation is worked on only
while a role skill that rests on it (directly, or through other foundations) needs
teaching. Checking a skill is not teaching it, so the prerequisite order of teaching
still holds: a skill is taught only after the foundations under it are met.

On the misspecified learners this was the second cost after check rounds: about a
fifth of an intermediate's minutes went to foundations at levels they already had.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from adaptive.core.catalogue import Catalog
from adaptive.core.mastery_steps import Plan
from adaptive.core.mastery_work import SkillWork

#: Steps that keep a standing pass (maintenance) or finish an open check, not
#: teaching toward the target: the skill's foundations are not what they need.
MAINTENANCE_CODES = frozenset({"recheck", "final_check", "top_up", "check_top_up"})


def needs_teaching(catalog: Catalog, plan: Plan) -> bool:
    """The plan teaches its skill toward the target (not a check, not upkeep)."""
    return (
        plan.status == "activity"
        and plan.activity_id not in catalog.content.check_ids
        and plan.code not in MAINTENANCE_CODES
    )


def needed_foundations(
    catalog: Catalog,
    work: Sequence[SkillWork],
    plan_of: Callable[[SkillWork], Plan],
) -> frozenset[int]:
    """The foundations under a skill of ``work`` whose plan (``plan_of``) teaches it."""
    foundations = {w.skill_id for w in work if w.source == "prerequisite"}
    if not foundations:
        return frozenset()
    needed: set[int] = set()
    for w in work:
        if w.source == "prerequisite":
            continue
        below = catalog.graph.prerequisites_of(w.skill_id)
        # Only a skill resting on a foundation is planned here (cheap at scale).
        if not foundations.intersection(below) or not needs_teaching(
            catalog, plan_of(w)
        ):
            continue
        stack = list(below)
        while stack:
            pre = stack.pop()
            if pre in foundations and pre not in needed:
                needed.add(pre)
                stack.extend(catalog.graph.prerequisites_of(pre))
    return frozenset(needed)
