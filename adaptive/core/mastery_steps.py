"""Pure: the mastery loop's building blocks for one skill (which check, which
teaching, the milestone levels below the target); ``plan_skill`` in
``adaptive.core.mastery_plan`` puts them together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from adaptive.core.catalogue import Catalog, SkillContent
from adaptive.core.learner import LearnerModel
from adaptive.core.mastery_rounds import (
    CheckPool,
    MasteryConfig,
    Rounds,
    check_rounds,
    pooled_pass,
    thin_confidence,
)
from adaptive.core.mastery_work import SkillView, SkillWork
from adaptive.core.refresh_cards import card_for


@dataclass(frozen=True, slots=True)
class Plan:
    """What the loop wants for one skill: an activity, or that it is met/blocked."""

    status: str  # met | activity | blocked
    activity_id: int | None = None
    code: str = ""
    detail: str = ""
    #: For "met": the stated confidence of the check that verified it.
    confidence: float = 1.0
    #: For "met": verified by a thin check (``CheckPool.thin``).
    thin: bool = False
    #: For a re-check: days since the skill's last passed check (the learner's reason).
    days_since: float | None = None
    #: For "met": on the answers of several failed rounds together (``pooled_pass``).
    pooled: bool = False
    #: For a deferred check: the log-likelihood ratio of its open round so far.
    open_llr: float = 0.0


#: Plans that wait until nothing else is left to learn (``last_check``).
LAST_CODES = frozenset({"final_check", "check_later"})


def last_check(
    chosen: tuple[SkillWork, Plan] | None,
    candidate: tuple[SkillWork, Plan],
    last_skill: int | None,
) -> tuple[SkillWork, Plan]:
    """The waiting check to take once nothing else is left to learn.

    The one under way (the skill of the last attempt) goes on until decided: taking
    turns left each round half answered while the learner forgot. Otherwise the
    weakest start first, the skill most likely to need teaching after all; a stale
    pass's ``final_check`` (no open round, ``open_llr`` 0) before any waiting round.
    """
    if chosen is None or candidate[0].skill_id == last_skill:
        return candidate
    if chosen[0].skill_id == last_skill:
        return chosen
    return candidate if candidate[1].open_llr < chosen[1].open_llr else chosen


def needed_levels(content: SkillContent, skill: int, target: int) -> list[int]:
    levels = content.teach_levels(skill)
    below = [lv for lv in levels if lv <= target]
    if target not in below:
        above = [lv for lv in levels if lv > target]
        if above:
            below.append(above[0])
    return below


def check_for(
    content: SkillContent,
    skill: int,
    level: int,
    view: SkillView,
    n_items: Mapping[int, int],
    *,
    pool: CheckPool | None = None,
    avoid: frozenset[int] = frozenset(),
    fresh: bool = False,
) -> int:
    """The check at ``level`` (from ``pool`` when given): not one answered in the open
    round (``avoid``), the check level before those above it, then not the one just
    taken, then the one with most questions, then the least taken. A ``fresh`` pick
    (a maintenance re-check) takes the least taken first: unseen questions, where
    the catalogue has them, are new evidence."""
    last = view.events[-1].activity_id if view.events else None
    candidates = pool.activities if pool is not None else content.checks[skill][level]
    rank = pool.rank if pool is not None else {}
    return min(
        candidates,
        key=lambda a: (
            a in avoid,
            rank.get(a, 0),
            view.taken.get(a, 0) if fresh else 0,
            a == last,
            -n_items[a],
            view.taken.get(a, 0),
            content.position[a],
        ),
    )


def refresh_for(
    content: SkillContent, skill: int, needed: Sequence[int], view: SkillView
) -> int | None:
    """The shortest way back after a lapse (the refresher came before the re-check):
    the least taken teaching activity at the checked level, else the refresher."""
    options = content.teach.get(skill, {}).get(needed[-1], ()) if needed else ()
    if not options:
        options = content.refreshers.get(skill, ())
    if not options:
        return None
    return min(options, key=lambda a: (view.taken.get(a, 0), content.position[a]))


def standing_pass(
    content: SkillContent,
    rounds: Rounds,
    view: SkillView,
    skill: int,
    name: str,
    needed: Sequence[int],
    recheck: int,
    met: Plan,
    now: dt.datetime,
    cfg: MasteryConfig,
    last_teach_at: dt.datetime | None,
) -> Plan:
    """A skill whose pass stands: met, or its top-up, re-check or final check."""
    if rounds.top_up:
        # The re-check ended undecided: one more explanation lifts a learner
        # hovering at the target clear of it, without another check.
        top_up = refresh_for(content, skill, needed, view)
        if top_up is not None:
            return Plan("activity", top_up, "top_up", f"{name}: re-check undecided")
    # A re-check starts with the skill's refresher when it has one: the short
    # review is what keeps a learner who forgot a little at target.
    refreshers = content.refreshers.get(skill, ())
    review = (
        min(refreshers, key=lambda a: (view.taken.get(a, 0), content.position[a]))
        if refreshers
        else recheck
    )
    card = card_for(tuple(rounds.reviews))
    passed_at = rounds.passed_at or now
    if now >= card.due:
        age = (now - passed_at).total_seconds() / 86400.0
        return Plan(
            "activity",
            review,
            "recheck",
            f"{name}: last check {age:.0f} days ago",
            days_since=age,
        )
    stale = (
        rounds.passes < cfg.max_final_passes
        and last_teach_at is not None
        and last_teach_at > passed_at
        and card.retrievability(now) < cfg.final_retention
    )
    if not stale:
        return met
    return Plan(
        "activity",
        review,
        "final_check",
        f"{name}: recall {card.retrievability(now):.2f} since its check, "
        "other skills taught since",
    )


def milestone_step(
    catalog: Catalog,
    model: LearnerModel,
    skill: int,
    needed: Sequence[int],
    target: int,
    view: SkillView,
    now: dt.datetime,
    cfg: MasteryConfig,
    *,
    after_failure: bool = False,
) -> Plan | None:
    """Mastery learning level by level: the lowest level below the target that has a
    check and is neither verified nor sure in the model is taught, then checked;
    a failed check re-teaches that level (least taken activity first). A level that
    keeps failing, or whose round ran out undecided (the learner is near it), is left
    to the target's own check (the authored order goes on). ``after_failure``: the
    target's check failed, so this teaching is a different explanation too."""
    content = catalog.content
    name = catalog.skill_name(skill)
    for m in content.check_levels(skill):
        if m >= target or m < (needed[0] if needed else m):
            continue
        if model.p_at_least(skill, m, now) >= cfg.known_level:
            continue
        r = check_rounds(catalog, view.events, m, cfg, milestone=True)
        if r.passed_at is not None or r.failed >= cfg.max_failed_checks:
            continue
        if r.last_failed and r.borderline:
            # Near the level already: its teaching comes with the target's pass.
            continue
        check = check_for(
            content,
            skill,
            m,
            view,
            {a: catalog.activities[a].n_items for a in content.checks[skill][m]},
        )
        if r.open_answers:
            return Plan("activity", check, "check_level", f"{name}: level {m}")
        taught = {
            e.activity_id
            for e in view.events[r.since :]
            if not e.check and e.level <= m
        }
        start = next(
            (
                lv
                for lv in needed
                if lv <= m and model.p_at_least(skill, lv, now) < cfg.known_level
            ),
            m,
        )
        pending = [
            a
            for lv in needed
            if start <= lv <= m
            for a in sorted(
                content.teach[skill][lv],
                key=lambda a: (view.taken.get(a, 0), content.position[a]),
            )
            if a not in taught
        ]
        if pending:
            code = "remediate_alternative" if r.failed or after_failure else "teach"
            return Plan("activity", pending[0], code, f"{name} toward level {m}")
        if r.rounds_since_teach < cfg.max_checks_in_row:
            return Plan("activity", check, "check_level", f"{name}: level {m}")
    return None


def sure_foundation(
    model: LearnerModel,
    work: SkillWork,
    check_level: int,
    now: dt.datetime,
    cfg: MasteryConfig,
) -> bool:
    """An implied prerequisite checked only above its level, that the model is sure
    of (placement, related answers, ability): met without the check, which would
    judge a level no role asked for. An unsure one keeps its check, and one full
    teaching pass after a failed check."""
    return (
        work.source == "prerequisite"
        and check_level > work.level
        and model.p_at_least(work.skill_id, work.level, now) >= cfg.known_level
    )


def stuck_plan(
    content: SkillContent,
    rounds: Rounds,
    view: SkillView,
    pool: CheckPool,
    skill: int,
    name: str,
    target: int,
    levels: tuple[Sequence[int], Sequence[int]],
    cfg: MasteryConfig,
) -> Plan | None:
    """ "Blocked: needs a person" once teaching is exhausted, else ``None``.

    That takes ``max_failed_checks`` failed rounds more than the skill has levels to
    re-teach (the stretch level included), since its last pass, and every teaching
    activity of its checked and stretch levels taken ``max_repeats`` times; unless
    the failed rounds' answers pooled reach a round's bar (``pooled_pass``).
    ``levels``: the levels to teach up to the check, and the stretch level above.
    """
    needed, stretch = levels
    top_teaching = (
        [
            a
            for lv in [needed[-1], *stretch]
            for a in content.teach.get(skill, {}).get(lv, ())
        ]
        if needed
        else []
    )
    if not (
        rounds.failed
        and rounds.last_failed
        and rounds.failed >= cfg.max_failed_checks + len(needed) + len(stretch) - 1
        and all(view.taken.get(a, 0) >= cfg.max_repeats for a in top_teaching)
    ):
        return None
    if pooled_pass(rounds, cfg) and not pool.thin:
        # Stuck only between the round's hypotheses: met, on all its answers.
        return Plan("met", confidence=thin_confidence(rounds.failed_llr), pooled=True)
    return Plan(
        "blocked",
        code="learner_stuck",
        detail=f"{name}: {rounds.failed} failed checks at level {target} after "
        "re-teaching every level; needs a person",
    )
