"""Pure: one skill's mastery loop (``plan_skill``), what it wants next toward its level.

The rules it follows are listed in ``adaptive.core.mastery``, whose ``decide`` asks
it for each skill of the work list in turn.
"""

from __future__ import annotations

import datetime as dt

from adaptive.core import catalogue_defects as defects
from adaptive.core.catalogue import Catalog
from adaptive.core.learner import LearnerModel
from adaptive.core.mastery_rounds import MasteryConfig, check_pool, check_rounds
from adaptive.core.mastery_steps import (
    Plan,
    check_for,
    milestone_step,
    needed_levels,
    refresh_for,
    standing_pass,
    stuck_plan,
    sure_foundation,
)
from adaptive.core.mastery_work import SkillView, SkillWork, check_level, taught_to


def plan_skill(
    catalog: Catalog,
    model: LearnerModel,
    work: SkillWork,
    view: SkillView,
    now: dt.datetime,
    cfg: MasteryConfig,
    last_teach_at: dt.datetime | None = None,
) -> Plan:
    """The mastery loop for one skill (its rules: ``adaptive.core.mastery``)."""
    content = catalog.content
    skill, target = work.skill_id, work.level
    name = catalog.skill_name(skill)
    if target >= model.n_levels:
        return Plan(
            "blocked", code="no_such_level", detail=defects.no_such_level(name, target)
        )
    level = check_level(content, skill, target)
    if level is None:
        return Plan(
            "blocked",
            code="no_assessment",
            detail=defects.no_assessment(name, target),
        )
    n_items = {
        a: catalog.activities[a].n_items
        for checks in content.checks[skill].values()
        for a in checks
    }
    if sure_foundation(model, work, level, now, cfg):
        return Plan("met", confidence=0.0)
    pool = check_pool(content, n_items, skill, level, cfg)
    needed = needed_levels(content, skill, level)
    target = level
    events = view.events
    rounds = check_rounds(catalog, events, target, cfg, pool=pool)
    check = check_for(
        content, skill, level, view, n_items, pool=pool, avoid=rounds.round_seen
    )
    # A re-check of a pass asks the questions least seen first: an answer the
    # learner has just given is not new evidence that the skill has stayed.
    recheck = check_for(
        content,
        skill,
        level,
        view,
        n_items,
        pool=pool,
        avoid=rounds.round_seen,
        fresh=True,
    )
    met = Plan("met", confidence=rounds.confidence, thin=pool.thin)
    since = rounds.since
    p_target = model.p_at_least(skill, target, now)
    # An implied prerequisite is a foundation, not a target: once passed it needs no
    # maintenance (its dependants' checks show if it holds them back).
    foundation = work.source == "prerequisite"
    if foundation and rounds.passed_at is not None:
        return met
    if rounds.passed_at is not None:
        return standing_pass(
            content,
            rounds,
            view,
            skill,
            name,
            needed,
            recheck,
            met,
            now,
            cfg,
            last_teach_at,
        )
    if rounds.refreshed:
        return Plan("activity", recheck, "check_refreshed", f"{name}: refreshed")
    # After failed rounds, the next level's teaching is a stretch: content above the
    # target is what lifts a learner stuck just at it clear of the check's noise.
    stretch = [lv for lv in content.teach_levels(skill) if lv > target][:1]
    stuck = stuck_plan(
        content, rounds, view, pool, skill, name, target, (needed, stretch), cfg
    )
    if stuck is not None:
        return stuck
    if rounds.extend:
        top_up = refresh_for(content, skill, needed, view)
        if top_up is not None:
            return Plan("activity", top_up, "check_top_up", f"{name}: check undecided")
    if rounds.open_answers:
        # A good start: the rest of the test waits until nothing else is left.
        later = rounds.open_llr > cfg.defer_llr and not (
            pool.thin or rounds.open_upkeep or work.source != "role"
        )
        code = "check_later" if later else "check_mastery"
        detail = f"{name}: check continues"
        return Plan("activity", check, code, detail, open_llr=rounds.open_llr)
    taught_since = {e.activity_id for e in events[since:] if not e.check}
    if rounds.lapsed and rounds.last_failed:
        # A lapse (a standing pass that failed its re-check) gets one short refresh,
        # then a full check; only failing that starts a new teaching pass.
        if not taught_since:
            refresh = refresh_for(content, skill, needed, view)
            if refresh is not None:
                return Plan("activity", refresh, "refresh_lapse", f"{name}: lapsed")
        elif rounds.rounds_since_teach < cfg.max_checks_in_row:
            return Plan("activity", recheck, "check_mastery", f"{name}: refreshed")
    # After a passed round the model still doubts: more checks, but only so many.
    may_check = rounds.rounds_since_teach < cfg.max_checks_in_row
    untouched = not events
    # A thin check cannot tell a learner just below the target from one at it, so
    # its level is taught (in the authored order) before the check, as the linear
    # course would: never worse than it, and the pass is stated as less certain.
    if (
        may_check
        and not pool.thin
        and not taught_since
        and (
            p_target >= cfg.assess_first or (untouched and p_target >= cfg.assess_floor)
        )
    ):
        return Plan("activity", check, "check_known", f"{name}: P {p_target:.2f}")
    borderline = rounds.borderline and rounds.last_failed
    # A near miss says the levels below are there: no milestones under it.
    step = (
        None
        if borderline
        else milestone_step(
            catalog,
            model,
            skill,
            needed,
            target,
            view,
            now,
            cfg,
            after_failure=rounds.failed > 0,
        )
    )
    if step is not None:
        return step
    # Skip the levels the model is sure of; a level already taught in an earlier pass
    # is not taught again from scratch: a new pass starts at the top level.
    taught_before = {e.activity_id for e in events[:since] if not e.check}
    start = next(
        (
            lv
            for lv in needed
            if model.p_at_least(skill, lv, now) < cfg.known_level
            and (
                lv == needed[-1]
                or not taught_before.issuperset(content.teach[skill][lv])
            )
        ),
        needed[-1] if needed else None,
    )
    if start is not None and borderline:
        # A near miss puts the learner near the checked level: the levels below are
        # not what holds them back, the checked one (and the stretch above it) is.
        start = needed[-1]
    elif start is not None and 1 < rounds.failed <= len(needed):
        # Each further failed round re-teaches one level lower (the easier
        # explanation), whatever the model says: it may be wrong about the level below.
        # Once the descent has reached the lowest level, the model (which the answers
        # of that re-teaching have updated) says where a pass starts: re-teaching
        # every level from the bottom on each failure wasted most of a slow
        # learner's passes on levels they had.
        start = min(start, needed[len(needed) - rounds.failed])
    if start is None:
        # Nothing to teach with: checks are all this skill has.
        if may_check:
            return Plan("activity", check, "check_mastery", f"{name}: no teaching")
        return Plan(
            "blocked",
            code="no_teaching_content",
            detail=defects.no_teaching_content(name, target),
        )
    levels = (
        [*needed, *stretch]
        if rounds.failed >= cfg.stretch_after or borderline
        else needed
    )
    if foundation and level > work.level:
        if borderline:
            # A near miss above the level the skills resting on it need shows it.
            return Plan("met", confidence=0.0)
        # Checked only above its level: teach what the skills above it build on
        # (the foundation's own level is always one of them).
        levels = [lv for lv in levels if lv <= taught_to(content, work)]
        start = min(start, levels[-1])
    pending = [
        a
        for lv in levels
        if lv >= start
        for a in sorted(
            content.teach[skill][lv],
            key=lambda a: (view.taken.get(a, 0), content.position[a]),
        )
        if a not in taught_since
    ]
    if pending:
        code = "remediate_alternative" if since > 0 else "teach"
        return Plan("activity", pending[0], code, f"{name} toward level {target}")
    if foundation and taught_since:
        # One full teaching pass is enough for a foundation; re-checking it until it
        # passes would hold every dependant back (``with_support`` raises it to a
        # checked level below a dependant that keeps failing, where it has one).
        return Plan("met", confidence=0.0)
    if may_check:
        return Plan("activity", check, "check_mastery", f"{name}: pass complete")
    top = content.teach[skill][needed[-1]]
    again = min(top, key=lambda a: (view.taken.get(a, 0), content.position[a]))
    return Plan("activity", again, "remediate_alternative", f"{name}: once more")
