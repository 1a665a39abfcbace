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
    thin_text = (
        f" {len(thin)} of them checked by fewer questions than a confident check "
        f"needs (lowest check confidence {check_confidence:.2f})."
        if thin
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
            },
            learner_text="You have reached every target of your role.",
            manager_text=(
                f"All {len(role_work)} targets verified by a recent check after the "
                f"last teaching; lowest P(at target) {confidence:.2f}.{thin_text}"
            ),
        ),
    )


def activity_recommendation(
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
