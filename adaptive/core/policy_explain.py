"""Pure: the older card-based policy's input, its candidates and the words of its reasons.

``PolicyInput`` is everything one ``adaptive.core.policy.next_step`` decision needs;
the rest turns a chosen candidate (or the lack of one) into a ``Recommendation``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from adaptive.core.catalogue import ActivityInfo, Catalog
from adaptive.core.decisions import AttemptRecord, Overrides, Reason, Recommendation
from adaptive.core.learner import LearnerModel
from adaptive.core.refresh import RefreshScheduler, RefreshState
from adaptive.core.skill_progress import PolicyConfig, Target

# A failed check is not a failed explanation: remediation follows failed teaching only.
ASSESSMENT_KINDS = frozenset({"quiz", "refresher", "assessment"})


@dataclass
class PolicyInput:
    """Everything one decision needs; built by the service or a simulation."""

    catalog: Catalog
    role_targets: Mapping[int, int]
    model: LearnerModel
    now: dt.datetime
    refresh: Mapping[int, RefreshState] = field(default_factory=dict)
    history: Sequence[AttemptRecord] = ()
    overrides: Overrides = field(default_factory=Overrides)
    time_budget_min: float | None = None
    config: PolicyConfig = field(default_factory=PolicyConfig)
    scheduler: RefreshScheduler | None = None


@dataclass
class Candidate:
    activity: ActivityInfo
    learn_gain: float = 0.0
    info_gain: float = 0.0
    skills: list[int] = field(default_factory=list)
    remediation: bool = False
    manager_rank: int = 0

    @property
    def gain(self) -> float:
        return self.learn_gain + self.info_gain


def fits(activity: ActivityInfo, budget: float | None) -> bool:
    return budget is None or activity.duration_min <= budget + 1e-9


def pct(p: float) -> str:
    return f"{round(100 * p)}%"


def targets_met(
    inp: PolicyInput,
    targets: Mapping[int, Target],
    estimates: Mapping[int, float],
) -> Recommendation:
    next_due = min(
        (st.due for s, st in inp.refresh.items() if s in targets), default=None
    )
    mean_p = float(np.mean(list(estimates.values()))) if estimates else 1.0
    when = f" The next refresher is due {next_due:%Y-%m-%d}." if next_due else ""
    return Recommendation(
        kind="done",
        activity_id=None,
        skill_ids=(),
        reason=Reason(
            code="targets_met",
            numbers={
                "skills": len(targets),
                "mean_p_target": round(mean_p, 4),
                "next_refresh_at": next_due.isoformat() if next_due else None,
            },
            learner_text=(
                f"You have reached the target on all {len(targets)} skills for this role."
                + when
            ),
            manager_text=(
                f"All {len(targets)} target skills are at target with evidence "
                f"(mean P(at target) {mean_p:.2f}); nothing more to teach until a "
                f"refresher is due.{when}"
            ),
        ),
    )


def stop_for_time(budget: float, shortest: float | None = None) -> Recommendation:
    numbers: dict[str, Any] = {"time_budget_min": budget}
    if shortest is not None:
        numbers["shortest_candidate_min"] = shortest
    return Recommendation(
        kind="stop",
        activity_id=None,
        skill_ids=(),
        reason=Reason(
            code="time_budget_exhausted",
            numbers=numbers,
            learner_text=(
                f"Nothing useful fits in the {budget:g} minutes left; pick up here next time."
            ),
            manager_text=(
                f"Session time budget {budget:g} min is shorter than every useful activity"
                + (f" (shortest {shortest:g} min)." if shortest is not None else ".")
            ),
        ),
    )


def nothing_available(
    inp: PolicyInput, gaps: set[int], blocked: Collection[int]
) -> Recommendation:
    cat = inp.catalog
    names = ", ".join(sorted(cat.skill_name(s) for s in gaps)[:5])
    return Recommendation(
        kind="stop",
        activity_id=None,
        skill_ids=tuple(sorted(gaps)),
        reason=Reason(
            code="no_activity_available",
            numbers={
                "gap_skills": len(gaps),
                "blocked_by_prerequisites": len(blocked),
            },
            learner_text="There is nothing new for you right now; your manager has been told.",
            manager_text=(
                f"{len(gaps)} skill(s) below target ({names}) have no available activity "
                f"({len(blocked)} blocked by prerequisites, the rest have no content or "
                "were skipped). Add or tag activities for them."
            ),
        ),
    )


def explain_learning(
    inp: PolicyInput,
    best: Candidate,
    runners_up: Sequence[Candidate],
    utility: float,
    targets: Mapping[int, Target],
    implied: Mapping[int, Target],
    estimates: Mapping[int, float],
    failures: Mapping[int, int],
    n_gaps: int,
) -> Recommendation:
    cat = inp.catalog
    act = best.activity
    # The skill furthest from its target names the step (ties: the lowest id).
    main = max(
        best.skills,
        key=lambda s: (
            targets[s].level - inp.model.p_at_least(s, targets[s].level, inp.now),
            -s,
        ),
    )
    tgt = targets[main]
    est = inp.model.estimate(main, tgt.level, inp.now)
    name = cat.skill_name(main)
    level_name = cat.level_name(tgt.level)
    mastered = sum(
        1 for s, p in estimates.items() if s in targets and p >= inp.config.mastery
    )
    numbers: dict[str, Any] = {
        "skill_id": main,
        "target_level": tgt.level,
        "target_source": tgt.source,
        "p_target": round(est.p_target, 4),
        "level": est.level,
        "uncertainty": round(est.uncertainty, 4),
        "expected_gain": round(best.gain, 5),
        "learn_gain": round(best.learn_gain, 5),
        "info_gain": round(best.info_gain, 5),
        "gain_per_min": round(utility, 5),
        "minutes": act.duration_min,
        "gap_skills": n_gaps,
        "skills_done": mastered,
        "alternatives_considered": len(runners_up),
    }
    if inp.time_budget_min is not None:
        numbers["time_budget_min"] = inp.time_budget_min
    failed = cat.activities.get(failures.get(main, -1))
    if failed is not None and failed.kind not in ASSESSMENT_KINDS:
        code = "remediate_alternative"
        numbers["failed_activity_id"] = failures[main]
        learner = (
            f"Let's try {name} another way: “{act.title}” ({act.duration_min:g} min) "
            f"explains it differently from “{failed.title}”."
        )
        manager = (
            f"Remediation after a failed attempt on {name}: chose a different "
            f"{'explanation from the same group' if best.remediation else 'activity'} "
            f"(P(at target) {est.p_target:.2f}, gain {utility:.4f}/min)."
        )
    elif main in implied:
        code = "prerequisite_first"
        blocked_for = [
            cat.skill_name(s)
            for s in cat.graph.dependents.get(main, ())
            if s in targets
        ][:3]
        numbers["needed_for"] = [
            s for s in cat.graph.dependents.get(main, ()) if s in targets
        ]
        learner = (
            f"First {name}: {', '.join(blocked_for) or 'your next skills'} build on it. "
            f"“{act.title}” takes {act.duration_min:g} min."
        )
        manager = (
            f"Prerequisite {name} (not itself a role target) is below "
            f"{pct(inp.config.prerequisite_ready)} at level 1 and blocks "
            f"{', '.join(blocked_for)}; best gain per minute {utility:.4f}."
        )
    elif best.info_gain > best.learn_gain:
        code = "check_known"
        learner = (
            f"A short check on {name} ({act.duration_min:g} min): you may already be at "
            f"“{level_name}” ({pct(est.p_target)} likely). If so, we skip ahead."
        )
        manager = (
            f"Assessment chosen for information: {name} is uncertain (P(at target "
            f"{tgt.level}) {est.p_target:.2f}, ±{est.uncertainty:.2f} levels); expected "
            f"information gain {best.info_gain:.3f} vs learning gain {best.learn_gain:.3f}."
        )
    else:
        code = "next_gain"
        learner = (
            f"Next: “{act.title}” ({act.duration_min:g} min) builds {name} toward "
            f"“{level_name}”. You are about {pct(est.p_target)} of the way to sure."
        )
        manager = (
            f"Best expected gain per minute toward the role's targets: {name} "
            f"(target {tgt.level}, P(at target) {est.p_target:.2f}, est. level {est.level}"
            f" ±{est.uncertainty:.2f}); {utility:.4f}/min over {act.duration_min:g} min; "
            f"{mastered} skill(s) already done and skipped."
        )
    if code == "next_gain" and main in inp.overrides.skill_order:
        code = "manager_order"
        manager = f"Following the manager's skill order: {name} comes first. " + manager
    return Recommendation(
        kind="activity",
        activity_id=act.id,
        skill_ids=tuple(best.skills),
        minutes=act.duration_min,
        runners_up=tuple(c.activity.id for c in runners_up),
        reason=Reason(
            code=code, numbers=numbers, learner_text=learner, manager_text=manager
        ),
    )
