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
MAINTENANCE_CODES = frozenset(
    {"recheck", "final_check", "top_up", "check_top_up", "check_later"}
)


def needs_teaching(catalog: Catalog, plan: Plan) -> bool:
    """The plan teaches its skill toward the target (not a check, not upkeep)."""
    return (
        plan.status == "activity"
        and plan.activity_id not in catalog.content.check_ids
        and plan.code not in MAINTENANCE_CODES
    )


class NeededFoundations:
    """Which foundations a skill of ``work`` whose plan (``plan_of``) teaches rests on.

    Asked lazily, one foundation at a time, in the loop's order: a foundation is
    needed as soon as one skill above it needs teaching, so only the skills above the
    foundations the loop reaches are planned, and only until one of them needs
    teaching. (Planning every skill above every foundation first was most of a
    decision's time on a 200-skill role.) Plans are memoised by ``plan_of``, so the
    answer does not depend on the order of the questions.
    """

    def __init__(
        self,
        catalog: Catalog,
        work: Sequence[SkillWork],
        plan_of: Callable[[SkillWork], Plan],
    ) -> None:
        self._catalog = catalog
        self._plan_of = plan_of
        foundations = {w.skill_id for w in work if w.source == "prerequisite"}
        #: Foundation -> the skills above it (in ``work`` order) that may need it.
        self._above: dict[int, list[SkillWork]] = {f: [] for f in foundations}
        self._known: dict[int, bool] = {}
        graph = catalog.graph
        for w in work:
            if w.source == "prerequisite":
                continue
            below = graph.prerequisites_of(w.skill_id)
            if not foundations.intersection(below):
                continue
            reached: set[int] = set()
            stack = list(below)
            while stack:
                pre = stack.pop()
                if pre in foundations and pre not in reached:
                    reached.add(pre)
                    stack.extend(graph.prerequisites_of(pre))
            for f in reached:
                self._above[f].append(w)

    def __contains__(self, foundation: int) -> bool:
        known = self._known.get(foundation)
        if known is None:
            known = self._known[foundation] = any(
                needs_teaching(self._catalog, self._plan_of(w))
                for w in self._above.get(foundation, ())
            )
        return known
