"""Pure: the mastery loop's decisions as recommendations, each with its reason."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from adaptive.core.catalogue import Catalog
from adaptive.core.decisions import Reason, Recommendation
from adaptive.core.learner import LearnerModel
from adaptive.core.mastery_steps import Plan
from adaptive.core.mastery_work import SkillWork

KIND_ACTIVITY = "activity"
KIND_REFRESHER = "refresher"
KIND_DONE = "done"
KIND_BLOCKED = "blocked"


def blocked_recommendation(
    blocked: Sequence[tuple[SkillWork, Plan]], n_met: int
) -> Recommendation:
    """The "blocked" decision, naming the defects (the first five) for the manager."""
    names = "; ".join(p.detail for _, p in blocked[:5])
    return Recommendation(
        kind=KIND_BLOCKED,
        activity_id=None,
        skill_ids=tuple(w.skill_id for w, _ in blocked),
        reason=Reason(
            code=blocked[0][1].code,
            numbers={"blocked": len(blocked), "met": n_met},
            learner_text="Some skills cannot be finished here yet; your manager "
            "has been told.",
            manager_text=f"Blocked: {names}.",
        ),
    )


def done_recommendation(
    role_work: Sequence[SkillWork],
    met_plans: Mapping[int, Plan],
    model: LearnerModel,
    now: dt.datetime,
) -> Recommendation:
    """The "targets met" decision, with the model's lowest P(at target) and what the checks
    themselves support (a thin check states its lower confidence)."""
    confidence = min(
        (model.p_at_least(w.skill_id, w.level, now) for w in role_work), default=1.0
    )
    # What the checks themselves support: a thin check states its lower confidence.
    checked = [met_plans[w.skill_id] for w in role_work if w.skill_id in met_plans]
    check_confidence = min((p.confidence for p in checked), default=1.0)
    thin = [p for p in checked if p.thin]
    pooled = [p for p in checked if p.pooled]
    thin_text = (
        f" {len(thin)} of them checked by fewer questions than a confident check "
        f"needs (lowest check confidence {check_confidence:.2f})."
        if thin
        else ""
    ) + (
        f" {len(pooled)} of them met on several check rounds' answers together "
        "(a learner just at the target)."
        if pooled
        else ""
    )
    return Recommendation(
        kind=KIND_DONE,
        activity_id=None,
        skill_ids=tuple(w.skill_id for w in role_work),
        reason=Reason(
            code="targets_met",
            numbers={
                "skills": len(role_work),
                "confidence": round(confidence, 4),
                "check_confidence": round(check_confidence, 4),
                "thin_targets": len(thin),
                "pooled_targets": len(pooled),
            },
            learner_text="You have reached every target of your role.",
            manager_text=(
                f"All {len(role_work)} targets verified by a recent check after the "
                f"last teaching; lowest P(at target) {confidence:.2f}.{thin_text}"
            ),
        ),
    )


def learner_reason(code: str, skill: str, title: str, days: float | None) -> str:
    """Why this step, in plain words for the learner, naming the skill it is for."""
    about = f" on {skill}" if skill else ""
    of = f" {skill}" if skill else " this"
    texts = {
        "check_known": f"A short check{about}: you may already know it, so we may "
        "skip its lessons.",
        "check_mastery": f"A check{about} to confirm what you have just learnt.",
        "check_level": f"A check{about} at this step before the next one.",
        "recheck": f"A quick review{about}: you last showed it {days:.0f} days ago."
        if days is not None and days >= 1
        else f"A quick review{about} so what you learnt stays with you.",
        "final_check": f"A last check that{of} has stayed with you.",
        "check_later": f"The rest of your check{about}, which you started well.",
        "check_refreshed": f"A check that the review brought{of} back.",
        "top_up": f"One more explanation of{of}: your last review of it was close.",
        "check_top_up": f"One more explanation of{of}: your check on it is close, "
        "and goes on after this.",
        "refresh_lapse": f"A short reminder of{of}: your last check on it was not "
        "passed.",
        "remediate_alternative": f"A different explanation of{of}: your last check "
        "on it was not passed.",
        "prerequisite_first": f"First{of}, which your targets build on.",
        "teach": f"Next{about}: “{title}”.",
        "pinned": "Your manager chose this step for you.",
    }
    return texts.get(code, f"Next: “{title}”.")


def activity_recommendation(
    catalog: Catalog, plan: Plan, code: str, refresher: bool, skill_id: int | None
) -> Recommendation:
    """The step ``plan`` names, for ``skill_id`` (``None``: a manager's pin)."""
    activity_id = plan.activity_id or 0
    activity = catalog.activities[activity_id]
    refresher = refresher or activity.kind == "refresher"
    skill = catalog.skill_name(skill_id) if skill_id is not None else ""
    return Recommendation(
        kind=KIND_REFRESHER if refresher else KIND_ACTIVITY,
        activity_id=activity_id,
        skill_ids=tuple(link.skill_id for link in activity.skills),
        minutes=activity.duration_min,
        reason=Reason(
            code=code,
            numbers={"minutes": activity.duration_min},
            learner_text=learner_reason(code, skill, activity.title, plan.days_since),
            manager_text=f"{code}: {plan.detail}",
        ),
    )
