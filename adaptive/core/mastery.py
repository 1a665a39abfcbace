"""Pure: the mastery loop, the engine's decision toward a role's targets, with its reason.

The learner model is misspecified by design (real learners are not K-level BKT), so
decisions are robust rules and the Bayesian estimate is only used to *skip*:

* skills are worked on in prerequisite order (a prerequisite outside the role is an
  implied target at its lowest level with content), one at a time;
* a skill's target is verified at its own level if it has a check there, else at the
  nearest level above with one;
* when the model is fairly sure (``assess_first``), or the skill is untouched, it is
  checked before any teaching;
* below the target, each level that has a check and that the model is not sure of is
  a milestone: taught (every activity of the level once, least taken first), then
  checked; a failed milestone is re-taught, one that keeps failing is left to the
  target's check;
* then every remaining level up to the target is taught and the target is checked;
  a failed check starts a new pass, least taken activity first (the alternative
  explanation), one level lower for each further failure (the easier one) down to
  the lowest, after which the model says where a pass starts; after
  ``stretch_after`` failed rounds a pass also teaches the level above the target (a
  learner stuck just at the target is lifted clear of the check's noise);
* a near miss (``Rounds.borderline``: a failed round that ran out of answers
  undecided, or with at least ``p_unknown`` of its answers right, as a learner just
  below the level answers) is not a failure of the levels below: the next pass
  skips the milestones and teaches the checked level and the level above it at
  once, and a near-missed milestone is left to the target's check;
* a check round is a sequential probability ratio test (``MasteryConfig``): "met"
  needs a passed round at the target, after the last teaching of the skill, so the
  false "met" rate of a round is about ``alpha`` whatever the model believes; a
  round that runs out of answers undecided gets one teaching activity of the checked
  level (its top-up) and goes on with its answers kept, ``round_extensions`` times;
* a role skill's first round that starts well (``defer_llr``) goes on only once
  nothing else is left to learn (``check_later``): what the learner lacks comes first;
* a passed skill has an FSRS card replayed from its check rounds
  (``adaptive.core.refresh_cards``): when the card is due the skill comes back as a
  refresher; when its recall chance is below ``final_retention`` and other skills were
  taught since, it is re-checked just before "targets met". A re-check starts with
  the skill's refresher activity and is judged against a lower maintenance bar; a
  lapse (failing it) gets one teaching activity and a full check before a new pass;
  a re-check that ends undecided with its answers favouring "at target" keeps the
  pass after one teaching activity;
* an implied prerequisite (outside the role) is a foundation: it is worked on only
  while a skill above it needs teaching (``mastery_foundations``: a role skill is
  checked before its foundations, and one the learner shows needs none); it is met
  by a passed check or by one full teaching pass after a failed one, and a passed
  one is never re-checked; a foundation whose checks are all above its level is met
  without one when the model is sure of its own level (placement, related answers,
  ability); its teaching stops at what the skills above build on (``builds_on``);
* after ``support_after`` failed rounds, the skill's prerequisites are worked on
  again at the level just below its check (``with_support``): the next-easier path
  when the foundation is what holds learning back; such support never blocks;
* a skill is blocked for this learner only after ``max_failed_checks`` failed rounds
  more than it has levels to re-teach (the stretch level included), counted since
  its last pass, and once each teaching activity of its checked (and stretch) level
  was taken ``max_repeats`` times, unless the answers of those failed rounds together
  pass the round's bar (``pooled_pass``: a learner hovering just at the target); a
  skill that cannot be taught or checked is blocked as a catalogue defect.

Every decision is an activity for an unmet target, "targets met" or "blocked": each
failed check moves a counter that ends in "blocked" (a pass resets it, and a passed
skill stays met until its check is stale), and each teaching step takes an activity
not yet taken in the current pass, so no zero-progress step repeats.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from adaptive.core import catalogue_defects as defects
from adaptive.core.catalogue import KIND_TEACHING as KIND_TEACHING
from adaptive.core.catalogue import Catalog
from adaptive.core.decisions import AttemptRecord, Overrides, Recommendation
from adaptive.core.learner import LearnerModel
from adaptive.core.mastery_foundations import NeededFoundations
from adaptive.core.mastery_reasons import KIND_ACTIVITY as KIND_ACTIVITY
from adaptive.core.mastery_reasons import KIND_BLOCKED as KIND_BLOCKED
from adaptive.core.mastery_reasons import KIND_DONE as KIND_DONE
from adaptive.core.mastery_reasons import KIND_REFRESHER as KIND_REFRESHER
from adaptive.core.mastery_reasons import (
    activity_recommendation,
    blocked_recommendation,
    done_recommendation,
)
from adaptive.core.mastery_rounds import MasteryConfig as MasteryConfig
from adaptive.core.mastery_rounds import check_pool, check_rounds
from adaptive.core.mastery_steps import (
    LAST_CODES,
    Plan,
    check_for,
    last_check,
    milestone_step,
    needed_levels,
    refresh_for,
    standing_pass,
    stuck_plan,
    sure_foundation,
)
from adaptive.core.mastery_work import NO_HISTORY as NO_HISTORY
from adaptive.core.mastery_work import SkillView as SkillView
from adaptive.core.mastery_work import SkillWork as SkillWork
from adaptive.core.mastery_work import check_level as check_level
from adaptive.core.mastery_work import skill_views, with_support
from adaptive.core.mastery_work import work_list as work_list


def plan_skill(
    catalog: Catalog,
    model: LearnerModel,
    work: SkillWork,
    view: SkillView,
    now: dt.datetime,
    cfg: MasteryConfig,
    last_teach_at: dt.datetime | None = None,
) -> Plan:
    """The mastery loop for one skill (see the module docstring)."""
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
        # Checked only above its level: teach what the skills above it build on.
        levels = [
            lv for lv in levels if lv <= max(work.level, work.builds_on)
        ] or levels[:1]
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
        # checked level if a dependant keeps failing).
        return Plan("met", confidence=0.0)
    if may_check:
        return Plan("activity", check, "check_mastery", f"{name}: pass complete")
    top = content.teach[skill][needed[-1]]
    again = min(top, key=lambda a: (view.taken.get(a, 0), content.position[a]))
    return Plan("activity", again, "remediate_alternative", f"{name}: once more")


def decide(
    catalog: Catalog,
    model: LearnerModel,
    targets: Mapping[int, int],
    history: Sequence[AttemptRecord],
    now: dt.datetime,
    *,
    overrides: Overrides | None = None,
    config: MasteryConfig | None = None,
) -> Recommendation:
    """The next step: an activity for an unmet target, "done" or "blocked"."""
    cfg = config or MasteryConfig()
    ovr = overrides or Overrides()
    for activity_id in ovr.pinned:
        if activity_id in catalog.activities and not any(
            a.activity_id == activity_id for a in history
        ):
            pin = Plan("activity", activity_id, "pinned", "a manager pinned it")
            return activity_recommendation(catalog, pin, "pinned", False, None)
    work = work_list(catalog, targets, ovr)
    in_work = {w.skill_id for w in work}
    views = skill_views(catalog, history, in_work)
    work = with_support(catalog, work, views, cfg)
    checks = catalog.content.check_ids
    last_teach_at = max(
        (a.at for a in history if a.activity_id not in checks), default=None
    )
    plans: dict[int, Plan] = {}
    last = catalog.main_links.get(history[-1].activity_id) if history else None
    last_skill = last[0] if last is not None else None

    def plan_of(w: SkillWork) -> Plan:
        plan = plans.get(w.skill_id)
        if plan is None:
            view = views.get(w.skill_id, NO_HISTORY)
            plan = plans[w.skill_id] = plan_skill(
                catalog, model, w, view, now, cfg, last_teach_at
            )
        return plan

    needed = NeededFoundations(catalog, work, plan_of)
    resolved: set[int] = set()
    met: list[SkillWork] = []
    met_plans: dict[int, Plan] = {}
    final: tuple[SkillWork, Plan] | None = None
    blocked: list[tuple[SkillWork, Plan]] = []
    refresher: tuple[SkillWork, Plan] | None = None
    for w in work:
        if w.source == "prerequisite" and w.skill_id not in needed:
            # No skill above it needs teaching now: a foundation waits.
            resolved.add(w.skill_id)
            continue
        pres = [p for p in catalog.graph.prerequisites_of(w.skill_id) if p in in_work]
        if any(p not in resolved for p in pres):
            continue
        plan = plan_of(w)
        if plan.status == "met":
            met.append(w)
            met_plans[w.skill_id] = plan
            resolved.add(w.skill_id)
        elif plan.status == "blocked" and w.source == "support":
            # Support is extra help: a foundation that will not rise never blocks.
            resolved.add(w.skill_id)
        elif plan.status == "blocked":
            blocked.append((w, plan))
            resolved.add(w.skill_id)
        elif plan.code == "recheck":
            # A stale check is maintenance: it waits until new learning is done.
            refresher = refresher or (w, plan)
            resolved.add(w.skill_id)
        elif plan.code in LAST_CODES:
            # Checked again only once nothing is left to learn: just before "done".
            final = last_check(final, (w, plan), last_skill)
            resolved.add(w.skill_id)
        else:
            code = "prerequisite_first" if w.source != "role" else plan.code
            return activity_recommendation(catalog, plan, code, False, w.skill_id)
    if final is not None:
        w, plan = final
        return activity_recommendation(catalog, plan, plan.code, False, w.skill_id)
    if refresher is not None:
        w, plan = refresher
        return activity_recommendation(catalog, plan, plan.code, True, w.skill_id)
    role_work = [w for w in work if w.source == "role"]
    if blocked:
        return blocked_recommendation(blocked, len(met))
    return done_recommendation(role_work, met_plans, model, now)
