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
  of the first ``weakest_of`` role skills ready, the one the model puts lowest is
  worked on first (the skill under way goes on; a manager's order is kept);
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

from adaptive.core.catalogue import KIND_TEACHING as KIND_TEACHING
from adaptive.core.catalogue import Catalog
from adaptive.core.decisions import AttemptRecord, Overrides, Recommendation
from adaptive.core.learner import LearnerModel
from adaptive.core.mastery_foundations import NeededFoundations
from adaptive.core.mastery_plan import plan_skill as plan_skill
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
from adaptive.core.mastery_steps import LAST_CODES, Plan, last_check
from adaptive.core.mastery_work import NO_HISTORY as NO_HISTORY
from adaptive.core.mastery_work import SkillView as SkillView
from adaptive.core.mastery_work import SkillWork as SkillWork
from adaptive.core.mastery_work import check_level as check_level
from adaptive.core.mastery_work import skill_views, with_support
from adaptive.core.mastery_work import work_list as work_list


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
    # Role skills ready to work on, compared before the weakest is taken; a
    # manager's order is kept as it is.
    ready: list[tuple[float, int, SkillWork, Plan]] = []
    weakest_of = 1 if ovr.skill_order else max(1, cfg.weakest_of)
    for w in work:
        if len(ready) >= weakest_of and w.skill_id != last_skill:
            continue  # enough compared: only the skill under way may still come
        if w.source == "prerequisite" and w.skill_id not in needed:
            # No skill above it needs teaching now: a foundation waits.
            resolved.add(w.skill_id)
            continue
        if ready and w.source != "role" and w.skill_id != last_skill:
            # A foundation or support level further on rests under a skill not
            # compared yet: it does not go ahead of the role skills that are ready.
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
        elif w.source == "role" and w.skill_id != last_skill and weakest_of > 1:
            p_target = round(model.p_at_least(w.skill_id, w.level, now), 2)
            ready.append((p_target, len(ready), w, plan))
        else:
            code = "prerequisite_first" if w.source != "role" else plan.code
            return activity_recommendation(catalog, plan, code, False, w.skill_id)
    if ready:
        _, _, w, plan = min(ready, key=lambda r: r[:2])
        return activity_recommendation(catalog, plan, plan.code, False, w.skill_id)
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
