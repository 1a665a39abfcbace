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
  explanation), one level lower for each further failure (the easier one); after
  ``stretch_after`` failed rounds a pass also teaches the level above the target (a
  learner stuck just at the target is lifted clear of the check's noise);
* a check round is a sequential probability ratio test (``MasteryConfig``): "met"
  needs a passed round at the target, after the last teaching of the skill, so the
  false "met" rate of a round is about ``alpha`` whatever the model believes;
* a passed skill has an FSRS card replayed from its check rounds
  (``adaptive.core.refresh_cards``): when the card is due the skill comes back as a
  refresher; when its recall chance is below ``final_retention`` and other skills were
  taught since, it is re-checked just before "targets met". A re-check starts with
  the skill's refresher activity and is judged against a lower maintenance bar; a
  lapse (failing it) gets one teaching activity and a full check before a new pass;
* after ``support_after`` failed rounds, the skill's prerequisites are worked on
  again at the level just below its check (``_with_support``): the next-easier path
  when the foundation is what holds learning back; such support never blocks;
* a skill is blocked for this learner only after ``max_failed_checks`` failed rounds
  more than it has levels to re-teach (the stretch level included), counted since
  its last pass, and once each teaching activity of its checked (and stretch) level
  was taken ``max_repeats`` times; a skill that cannot be taught or checked is
  blocked as a catalogue defect.

Every decision is an activity for an unmet target, "targets met" or "blocked": each
failed check moves a counter that ends in "blocked" (a pass resets it, and a passed
skill stays met until its check is stale), and each teaching step takes an activity
not yet taken in the current pass, so no zero-progress step repeats.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from adaptive.core import catalogue_defects as defects
from adaptive.core.catalogue import Catalog, SkillContent
from adaptive.core.learner import LearnerModel
from adaptive.core.mastery_rounds import MasteryConfig as MasteryConfig
from adaptive.core.mastery_rounds import SkillEvent, check_rounds
from adaptive.core.policy import AttemptRecord, Overrides, Reason, Recommendation
from adaptive.core.refresh_cards import card_for

# How much an activity kind teaches, relative to a lesson, in the model's update.
KIND_TEACHING = {
    "quiz": 0.5,
    "refresher": 0.3,
    "assessment": 0.3,
    "placement_item": 0.0,
}

KIND_ACTIVITY = "activity"
KIND_REFRESHER = "refresher"
KIND_DONE = "done"
KIND_BLOCKED = "blocked"


@dataclass(frozen=True, slots=True)
class SkillWork:
    """One skill the learner must reach: its level and why (role, prerequisite...)."""

    skill_id: int
    level: int
    source: str


@dataclass
class _SkillView:
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


_NO_HISTORY = _SkillView()  # shared and never written: read-only by plan_skill


def _with_support(
    catalog: Catalog,
    work: list[SkillWork],
    views: Mapping[int, _SkillView],
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
        level = check_level(content, w.skill_id, w.level)
        if view is None or level is None or level <= 1:
            continue
        if check_rounds(catalog, view.events, level, cfg).failed < cfg.support_after:
            continue
        for pre in catalog.graph.prerequisites_of(w.skill_id):
            current = by_skill.get(pre)
            if current is None or current.source == "role":
                continue
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


def _views(
    catalog: Catalog, history: Sequence[AttemptRecord], skills: set[int]
) -> dict[int, _SkillView]:
    """Views of the skills in ``skills`` that have history (others: ``_NO_HISTORY``)."""
    views: dict[int, _SkillView] = {}
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
            view = views[main.skill_id] = _SkillView()
        check = activity.id in checks
        view.events.append(
            SkillEvent(attempt.at, activity.id, check, main.level, attempt.score)
        )
        view.taken[activity.id] = view.taken.get(activity.id, 0) + 1
    return views


@dataclass(frozen=True, slots=True)
class _Plan:
    """What the loop wants for one skill: an activity, or that it is met/blocked."""

    status: str  # met | activity | blocked
    activity_id: int | None = None
    code: str = ""
    detail: str = ""


def _needed_levels(content: SkillContent, skill: int, target: int) -> list[int]:
    levels = content.teach_levels(skill)
    below = [lv for lv in levels if lv <= target]
    if target not in below:
        above = [lv for lv in levels if lv > target]
        if above:
            below.append(above[0])
    return below


def check_level(content: SkillContent, skill: int, target: int) -> int | None:
    """The level a target is verified at: the target's own if it has a check, else
    the nearest level above with one (the learner is then taught up to that level,
    since a check above the target is the only evidence that it is met)."""
    levels = [lv for lv in content.checks.get(skill, {}) if lv >= target]
    return min(levels) if levels else None


def _check_for(
    content: SkillContent,
    skill: int,
    level: int,
    view: _SkillView,
    n_items: Mapping[int, int],
) -> int:
    """The check at ``level``: not the one just taken, then the one with most
    questions, then the least taken."""
    last = view.events[-1].activity_id if view.events else None
    return min(
        content.checks[skill][level],
        key=lambda a: (
            a == last,
            -n_items[a],
            view.taken.get(a, 0),
            content.position[a],
        ),
    )


def _refresh_for(
    content: SkillContent, skill: int, needed: Sequence[int], view: _SkillView
) -> int | None:
    """The shortest way back after a lapse (the refresher came before the re-check):
    the least taken teaching activity at the checked level, else the refresher."""
    options = content.teach.get(skill, {}).get(needed[-1], ()) if needed else ()
    if not options:
        options = content.refreshers.get(skill, ())
    if not options:
        return None
    return min(options, key=lambda a: (view.taken.get(a, 0), content.position[a]))


def _milestone_step(
    catalog: Catalog,
    model: LearnerModel,
    skill: int,
    needed: Sequence[int],
    target: int,
    view: _SkillView,
    now: dt.datetime,
    cfg: MasteryConfig,
) -> _Plan | None:
    """Mastery learning level by level: the lowest level below the target that has a
    check and is neither verified nor sure in the model is taught, then checked;
    a failed check re-teaches that level (least taken activity first). A level that
    keeps failing is left to the target's own check (the authored order goes on)."""
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
        check = _check_for(
            content,
            skill,
            m,
            view,
            {a: catalog.activities[a].n_items for a in content.checks[skill][m]},
        )
        if r.open_answers:
            return _Plan("activity", check, "check_level", f"{name}: level {m}")
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
            code = "remediate_alternative" if r.failed else "teach"
            return _Plan("activity", pending[0], code, f"{name} toward level {m}")
        if r.rounds_since_teach < cfg.max_checks_in_row:
            return _Plan("activity", check, "check_level", f"{name}: level {m}")
    return None


def plan_skill(
    catalog: Catalog,
    model: LearnerModel,
    work: SkillWork,
    view: _SkillView,
    now: dt.datetime,
    cfg: MasteryConfig,
    last_teach_at: dt.datetime | None = None,
) -> _Plan:
    """The mastery loop for one skill (see the module docstring)."""
    content = catalog.content
    skill, target = work.skill_id, work.level
    name = catalog.skill_name(skill)
    if target >= model.n_levels:
        return _Plan(
            "blocked", code="no_such_level", detail=defects.no_such_level(name, target)
        )
    level = check_level(content, skill, target)
    if level is None:
        return _Plan(
            "blocked",
            code="no_assessment",
            detail=defects.no_assessment(name, target),
        )
    check = _check_for(
        content,
        skill,
        level,
        view,
        {a: catalog.activities[a].n_items for a in content.checks[skill][level]},
    )
    needed = _needed_levels(content, skill, level)
    target = level
    events = view.events
    rounds = check_rounds(catalog, events, target, cfg)
    since = rounds.since
    p_target = model.p_at_least(skill, target, now)
    if rounds.passed_at is not None:
        # A re-check starts with the skill's refresher when it has one: the short
        # review is what keeps a learner who forgot a little at target.
        refreshers = content.refreshers.get(skill, ())
        review = (
            min(refreshers, key=lambda a: (view.taken.get(a, 0), content.position[a]))
            if refreshers
            else check
        )
        card = card_for(tuple(rounds.reviews))
        if now >= card.due:
            age = (now - rounds.passed_at).total_seconds() / 86400.0
            return _Plan(
                "activity", review, "recheck", f"{name}: last check {age:.0f} days ago"
            )
        stale = (
            rounds.passes < cfg.max_final_passes
            and last_teach_at is not None
            and last_teach_at > rounds.passed_at
            and card.retrievability(now) < cfg.final_retention
        )
        if not stale:
            return _Plan("met")
        return _Plan(
            "activity",
            review,
            "final_check",
            f"{name}: recall {card.retrievability(now):.2f} since its check, "
            "other skills taught since",
        )
    if rounds.refreshed:
        return _Plan("activity", check, "check_refreshed", f"{name}: refreshed")
    # After failed rounds, the next level's teaching is a stretch: content above the
    # target is what lifts a learner stuck just at it clear of the check's noise.
    stretch = [lv for lv in content.teach_levels(skill) if lv > target][:1]
    top_teaching = (
        [
            a
            for lv in [needed[-1], *stretch]
            for a in content.teach.get(skill, {}).get(lv, ())
        ]
        if needed
        else []
    )
    if (
        rounds.failed
        and rounds.last_failed
        and rounds.failed >= cfg.max_failed_checks + len(needed) + len(stretch) - 1
        and all(view.taken.get(a, 0) >= cfg.max_repeats for a in top_teaching)
    ):
        return _Plan(
            "blocked",
            code="learner_stuck",
            detail=f"{name}: {rounds.failed} failed checks at level {target} after "
            "re-teaching every level; needs a person",
        )
    if rounds.open_answers:
        return _Plan("activity", check, "check_mastery", f"{name}: check continues")
    taught_since = {e.activity_id for e in events[since:] if not e.check}
    if rounds.lapsed and rounds.last_failed:
        # A lapse (a standing pass that failed its re-check) gets one short refresh,
        # then a full check; only failing that starts a new teaching pass.
        if not taught_since:
            refresh = _refresh_for(content, skill, needed, view)
            if refresh is not None:
                return _Plan("activity", refresh, "refresh_lapse", f"{name}: lapsed")
        elif rounds.rounds_since_teach < cfg.max_checks_in_row:
            return _Plan("activity", check, "check_mastery", f"{name}: refreshed")
    # After a passed round the model still doubts: more checks, but only so many.
    may_check = rounds.rounds_since_teach < cfg.max_checks_in_row
    untouched = not events
    if (
        may_check
        and not taught_since
        and (
            p_target >= cfg.assess_first or (untouched and p_target >= cfg.assess_floor)
        )
    ):
        return _Plan("activity", check, "check_known", f"{name}: P {p_target:.2f}")
    step = _milestone_step(catalog, model, skill, needed, target, view, now, cfg)
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
    if start is not None and rounds.failed > 1:
        # Each further failed round re-teaches one level lower (the easier
        # explanation), whatever the model says: it may be wrong about the level below.
        forced = needed[max(0, len(needed) - rounds.failed)]
        start = min(start, forced)
    if start is None:
        # Nothing to teach with: checks are all this skill has.
        if may_check:
            return _Plan("activity", check, "check_mastery", f"{name}: no teaching")
        return _Plan(
            "blocked",
            code="no_teaching_content",
            detail=defects.no_teaching_content(name, target),
        )
    levels = [*needed, *stretch] if rounds.failed >= cfg.stretch_after else needed
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
        return _Plan("activity", pending[0], code, f"{name} toward level {target}")
    if may_check:
        return _Plan("activity", check, "check_mastery", f"{name}: pass complete")
    top = content.teach[skill][needed[-1]]
    again = min(top, key=lambda a: (view.taken.get(a, 0), content.position[a]))
    return _Plan("activity", again, "remediate_alternative", f"{name}: once more")


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
            return _activity(
                catalog, activity_id, "pinned", "a manager pinned it", False
            )
    work = work_list(catalog, targets, ovr)
    in_work = {w.skill_id for w in work}
    views = _views(catalog, history, in_work)
    work = _with_support(catalog, work, views, cfg)
    checks = catalog.content.check_ids
    last_teach_at = max(
        (a.at for a in history if a.activity_id not in checks), default=None
    )
    resolved: set[int] = set()
    met: list[SkillWork] = []
    final: tuple[SkillWork, _Plan] | None = None
    blocked: list[tuple[SkillWork, _Plan]] = []
    refresher: tuple[SkillWork, _Plan] | None = None
    for w in work:
        pres = [p for p in catalog.graph.prerequisites_of(w.skill_id) if p in in_work]
        if any(p not in resolved for p in pres):
            continue
        plan = plan_skill(
            catalog,
            model,
            w,
            views.get(w.skill_id, _NO_HISTORY),
            now,
            cfg,
            last_teach_at,
        )
        if plan.status == "met":
            met.append(w)
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
        elif plan.code == "final_check":
            # Checked again only once nothing is left to learn: just before "done".
            final = final or (w, plan)
            resolved.add(w.skill_id)
        else:
            code = "prerequisite_first" if w.source != "role" else plan.code
            return _activity(catalog, plan.activity_id or 0, code, plan.detail, False)
    if final is not None:
        w, plan = final
        return _activity(catalog, plan.activity_id or 0, plan.code, plan.detail, False)
    if refresher is not None:
        w, plan = refresher
        return _activity(catalog, plan.activity_id or 0, plan.code, plan.detail, True)
    role_work = [w for w in work if w.source == "role"]
    if blocked:
        names = "; ".join(p.detail for _, p in blocked[:5])
        return Recommendation(
            kind=KIND_BLOCKED,
            activity_id=None,
            skill_ids=tuple(w.skill_id for w, _ in blocked),
            reason=Reason(
                code=blocked[0][1].code,
                numbers={"blocked": len(blocked), "met": len(met)},
                learner_text="Some skills cannot be finished here yet; your manager "
                "has been told.",
                manager_text=f"Blocked: {names}.",
            ),
        )
    confidence = min(
        (model.p_at_least(w.skill_id, w.level, now) for w in role_work), default=1.0
    )
    return Recommendation(
        kind=KIND_DONE,
        activity_id=None,
        skill_ids=tuple(w.skill_id for w in role_work),
        reason=Reason(
            code="targets_met",
            numbers={"skills": len(role_work), "confidence": round(confidence, 4)},
            learner_text="You have reached every target of your role.",
            manager_text=(
                f"All {len(role_work)} targets verified by a recent check after the "
                f"last teaching; lowest P(at target) {confidence:.2f}."
            ),
        ),
    )


def _activity(
    catalog: Catalog, activity_id: int, code: str, detail: str, refresher: bool
) -> Recommendation:
    activity = catalog.activities[activity_id]
    refresher = refresher or activity.kind == "refresher"
    texts = {
        "check_known": "A short check: you may already know this, so we may skip it.",
        "check_mastery": "A check to confirm what you have just learnt.",
        "check_level": "A check of this step before the next one.",
        "recheck": "A quick review so what you learnt stays with you.",
        "final_check": "A last check that this has stayed with you.",
        "check_refreshed": "A check that the review brought it back.",
        "refresh_lapse": "A short reminder of this, then a check.",
        "remediate_alternative": "Let's try this another way.",
        "prerequisite_first": "First a skill your targets build on.",
    }
    return Recommendation(
        kind=KIND_REFRESHER if refresher else KIND_ACTIVITY,
        activity_id=activity_id,
        skill_ids=tuple(link.skill_id for link in activity.skills),
        minutes=activity.duration_min,
        reason=Reason(
            code=code,
            numbers={"minutes": activity.duration_min},
            learner_text=texts.get(code, f"Next: “{activity.title}”."),
            manager_text=f"{code}: {detail}",
        ),
    )
