"""Pure: the sequencing policy, the next step toward a role's targets, with its reason.

Order of precedence for one decision:

1. a manager's pinned activity (if it fits the session's time);
2. a refresher for a mastered skill whose FSRS card is due (drift first), interleaved
   with new learning rather than stacked;
3. otherwise the activity with the best expected gain toward the targets per minute,
   among those whose prerequisites are met. Gain = expected level progress from
   learning plus the value of what the activity will reveal (expected entropy reduction,
   weighted by the chance that it shows the learner already knows it, which is what
   lets us skip). After a failure the same text is never offered again immediately;
   the author's alternative explanation (same group) or an easier one is preferred.

Skills at or above target with enough evidence are done: higher is not better, and the
policy never teaches past a target unless a manager or the learner added one.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from adaptive.catalog import REFRESHER_KINDS, ActivityInfo, Catalog
from adaptive.learner import LearnerModel, SkillEstimate, adjust_for_difficulty
from adaptive.refresh import DueRefresher, RefreshScheduler, RefreshState

# How much an activity kind teaches, relative to a lesson (assessment teaches a little).
KIND_TEACHING = {"quiz": 0.5, "refresher": 0.3, "assessment": 0.3}
# A failed check is not a failed explanation: remediation follows failed teaching only.
ASSESSMENT_KINDS = frozenset({"quiz", "refresher", "assessment"})
REMEDIATION_BONUS = 1.5
REPEAT_PENALTY = 0.5

STATUS_MASTERED = "mastered"
STATUS_MAINTAINED = "maintained"
STATUS_REFRESH_DUE = "refresh_due"
STATUS_IN_PROGRESS = "in_progress"
STATUS_NOT_STARTED = "not_started"
STATUS_LOCKED = "locked"
STATUS_SKIPPED = "skipped"
DONE_STATUSES = frozenset({STATUS_MASTERED, STATUS_MAINTAINED, STATUS_REFRESH_DUE})


@dataclass(frozen=True)
class PolicyConfig:
    """Thresholds of the policy (all probabilities of being at target)."""

    mastery: float = 0.95
    maintain: float = 0.7
    prerequisite_ready: float = 0.8
    min_evidence: int = 1
    pass_score: float = 0.6
    info_weight: float = 1.0


@dataclass(frozen=True)
class Overrides:
    """A manager's (or learner's) say over the path; all optional."""

    pinned: tuple[int, ...] = ()
    skipped_skills: frozenset[int] = frozenset()
    skipped_activities: frozenset[int] = frozenset()
    added_targets: Mapping[int, int] = field(default_factory=dict)
    target_changes: Mapping[int, int] = field(default_factory=dict)
    skill_order: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """A recent try at an activity (``score`` None while unfinished)."""

    activity_id: int
    at: dt.datetime
    score: float | None
    skill_ids: tuple[int, ...] = ()
    refresher: bool = False


@dataclass(frozen=True, slots=True)
class Reason:
    """Why: a stable machine code, the numbers behind it, and two plain sentences."""

    code: str
    numbers: Mapping[str, Any]
    learner_text: str
    manager_text: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "numbers": dict(self.numbers),
            "learner_text": self.learner_text,
            "manager_text": self.manager_text,
        }


@dataclass(frozen=True, slots=True)
class Recommendation:
    """``kind``: activity | refresher | done | stop (nothing fits or nothing available)."""

    kind: str
    activity_id: int | None
    skill_ids: tuple[int, ...]
    reason: Reason
    minutes: float = 0.0
    runners_up: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "activity_id": self.activity_id,
            "skill_ids": list(self.skill_ids),
            "minutes": self.minutes,
            "runners_up": list(self.runners_up),
            "reason": self.reason.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class Target:
    level: int
    source: str  # role | manager | learner | prerequisite


@dataclass(frozen=True, slots=True)
class SkillProgress:
    """One skill's line in a progress report."""

    skill_id: int
    name: str
    target: int
    target_source: str
    status: str
    estimate: SkillEstimate
    next_refresh_at: dt.datetime | None


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


# --- targets and statuses ---


def effective_targets(
    role_targets: Mapping[int, int], overrides: Overrides
) -> dict[int, Target]:
    """Role targets after a manager's changes and additions (a level of 0 removes one)."""
    out = {s: Target(t, "role") for s, t in role_targets.items() if t > 0}
    for skill_id, level in overrides.target_changes.items():
        if level <= 0:
            out.pop(skill_id, None)
        else:
            out[skill_id] = Target(level, "manager")
    for skill_id, level in overrides.added_targets.items():
        if level > 0 and (skill_id not in out or out[skill_id].level < level):
            out[skill_id] = Target(
                level, "learner" if skill_id in role_targets else "manager"
            )
    for skill_id in overrides.skipped_skills:
        out.pop(skill_id, None)
    return out


def skill_status(
    p_target: float,
    n_evidence: int,
    refresh: RefreshState | None,
    now: dt.datetime,
    config: PolicyConfig,
) -> str:
    """Mastered needs probability *and* evidence; once mastered, a skill stays done
    (maintained) above ``maintain`` and comes back through refreshers, not re-teaching."""
    if refresh is not None and p_target >= config.maintain:
        return STATUS_REFRESH_DUE if refresh.due <= now else STATUS_MAINTAINED
    if p_target >= config.mastery and n_evidence >= config.min_evidence:
        return STATUS_MASTERED
    return STATUS_IN_PROGRESS if n_evidence else STATUS_NOT_STARTED


def mastery_reached(
    model: LearnerModel,
    skill_id: int,
    target: int,
    now: dt.datetime,
    config: PolicyConfig,
) -> bool:
    """True when the skill meets the mastery bar (used to start its refresher card)."""
    est = model.estimate(skill_id, target, now)
    return est.p_target >= config.mastery and est.n_evidence >= config.min_evidence


def progress_report(
    catalog: Catalog,
    model: LearnerModel,
    targets: Mapping[int, Target],
    now: dt.datetime,
    *,
    refresh: Mapping[int, RefreshState] | None = None,
    config: PolicyConfig | None = None,
    skipped: Iterable[int] = (),
) -> list[SkillProgress]:
    """Per target skill: probability, level, uncertainty, status (graph order)."""
    cfg = config or PolicyConfig()
    cards = refresh or {}
    ready = _ReadyCache(catalog, model, targets, now, cfg)
    rows: list[SkillProgress] = []
    skipped_set = set(skipped)
    order = [s for s in catalog.graph.order if s in targets or s in skipped_set]
    order += [s for s in targets if s not in catalog.graph]
    for skill_id in order:
        tgt = targets.get(skill_id)
        level = tgt.level if tgt else 1
        est = model.estimate(skill_id, level, now)
        card = cards.get(skill_id)
        if skill_id in skipped_set:
            status = STATUS_SKIPPED
        else:
            status = skill_status(est.p_target, est.n_evidence, card, now, cfg)
            if status not in DONE_STATUSES and not ready.prerequisites_ready(
                skill_id, 1
            ):
                status = STATUS_LOCKED
        rows.append(
            SkillProgress(
                skill_id=skill_id,
                name=catalog.skill_name(skill_id),
                target=level,
                target_source=tgt.source if tgt else "skipped",
                status=status,
                estimate=est,
                next_refresh_at=card.due if card else None,
            )
        )
    return rows


class _ReadyCache:
    """Memoised "are the prerequisites of skill s met for teaching level l?"."""

    def __init__(
        self,
        catalog: Catalog,
        model: LearnerModel,
        targets: Mapping[int, Target],
        now: dt.datetime,
        config: PolicyConfig,
    ) -> None:
        self.catalog = catalog
        self.model = model
        self.targets = targets
        self.now = now
        self.config = config
        self._p: dict[tuple[int, int], float] = {}
        self._ready: dict[tuple[int, int], tuple[int, ...]] = {}
        self._tails: dict[int, np.ndarray] = {}

    def seed(self, skill_ids: Sequence[int], tails: np.ndarray) -> None:
        """Reuse P(level >= l) already computed for the target skills."""
        self._tails = dict(zip(skill_ids, tails, strict=True))

    def p(self, skill_id: int, level: int) -> float:
        tail = self._tails.get(skill_id)
        if tail is not None:
            return float(tail[level]) if level < len(tail) else 0.0
        key = (skill_id, level)
        found = self._p.get(key)
        if found is None:
            found = self.model.p_at_least(skill_id, level, self.now)
            self._p[key] = found
        return found

    def unmet(self, skill_id: int, level: int) -> tuple[int, ...]:
        """Prerequisites not yet at the level this step needs (capped by their target)."""
        key = (skill_id, level)
        found = self._ready.get(key)
        if found is None:
            missing = []
            for pre in self.catalog.graph.prerequisites_of(skill_id):
                tgt = self.targets.get(pre)
                need = min(level, tgt.level if tgt else 1)
                if self.p(pre, need) < self.config.prerequisite_ready:
                    missing.append(pre)
            found = tuple(missing)
            self._ready[key] = found
        return found

    def prerequisites_ready(self, skill_id: int, level: int) -> bool:
        return not self.unmet(skill_id, level)


# --- the decision ---


def _fits(activity: ActivityInfo, budget: float | None) -> bool:
    return budget is None or activity.duration_min <= budget + 1e-9


def _pct(p: float) -> str:
    return f"{round(100 * p)}%"


def _last_failures(
    history: Sequence[AttemptRecord], pass_score: float
) -> dict[int, int]:
    """skill -> the activity of its latest attempt, when that attempt failed."""
    latest: dict[int, AttemptRecord] = {}
    for attempt in history:
        if attempt.score is None:
            continue
        for skill_id in attempt.skill_ids:
            latest[skill_id] = attempt
    return {
        s: a.activity_id
        for s, a in latest.items()
        if a.score is not None and a.score < pass_score
    }


def next_step(inp: PolicyInput) -> Recommendation:
    """Choose the next step and say why (see the module docstring for the rules)."""
    cfg = inp.config
    cat = inp.catalog
    now = inp.now
    targets = effective_targets(inp.role_targets, inp.overrides)
    budget = inp.time_budget_min
    if budget is not None and budget <= 0:
        return _stop_for_time(budget)
    attempts_by_activity: dict[int, int] = {}
    for attempt in inp.history:
        attempts_by_activity[attempt.activity_id] = (
            attempts_by_activity.get(attempt.activity_id, 0) + 1
        )

    pinned = _pinned_step(inp, attempts_by_activity, budget)
    if pinned is not None:
        return pinned

    estimates: dict[int, float] = {}
    statuses: dict[int, str] = {}
    model = inp.model
    skill_ids = list(targets)
    matrix = model.posteriors(skill_ids, now)
    tails = np.cumsum(matrix[:, ::-1], axis=1)[:, ::-1]
    for i, skill_id in enumerate(skill_ids):
        level = targets[skill_id].level
        p = float(tails[i, level]) if level < model.n_levels else 0.0
        estimates[skill_id] = p
        statuses[skill_id] = skill_status(
            p, model.n_evidence(skill_id), inp.refresh.get(skill_id), now, cfg
        )
    gaps = {s for s, st in statuses.items() if st not in DONE_STATUSES}
    ready = _ReadyCache(cat, inp.model, targets, now, cfg)
    ready.seed(skill_ids, tails)
    implied = _implied_prerequisites(cat, gaps, targets, ready, inp.overrides)
    all_targets = {**targets, **implied}
    gaps |= set(implied)
    ready.targets = all_targets

    due = _due_refreshers(inp, targets, statuses)
    last_was_refresher = bool(inp.history) and inp.history[-1].refresher
    if due and (not gaps or due[0].drift or not last_was_refresher):
        refresher = _refresher_step(inp, due, targets, estimates, budget)
        if refresher is not None:
            return refresher

    if not gaps:
        return _done(inp, targets, estimates)

    return _learning_step(
        inp, all_targets, gaps, implied, estimates, ready, attempts_by_activity, budget
    )


def _pinned_step(
    inp: PolicyInput, attempts: Mapping[int, int], budget: float | None
) -> Recommendation | None:
    for activity_id in inp.overrides.pinned:
        activity = inp.catalog.activities.get(activity_id)
        if activity is None or attempts.get(activity_id) or not _fits(activity, budget):
            continue
        names = ", ".join(
            inp.catalog.skill_name(link.skill_id) for link in activity.skills
        )
        return Recommendation(
            kind="activity",
            activity_id=activity_id,
            skill_ids=tuple(link.skill_id for link in activity.skills),
            minutes=activity.duration_min,
            reason=Reason(
                code="pinned",
                numbers={"activity_id": activity_id, "minutes": activity.duration_min},
                learner_text=f"Your manager asked you to do “{activity.title}” next.",
                manager_text=(
                    f"Pinned by a manager override: “{activity.title}” ({names}), "
                    f"{activity.duration_min:g} min; it comes before the engine's own choice."
                ),
            ),
        )
    return None


def _implied_prerequisites(
    cat: Catalog,
    gaps: set[int],
    targets: Mapping[int, Target],
    ready: _ReadyCache,
    overrides: Overrides,
) -> dict[int, Target]:
    """Prerequisites outside the targets that block a gap skill become level-1 targets."""
    implied: dict[int, Target] = {}
    stack = list(gaps)
    while stack:
        skill_id = stack.pop()
        for pre in cat.graph.prerequisites_of(skill_id):
            if pre in targets or pre in implied or pre in overrides.skipped_skills:
                continue
            if ready.p(pre, 1) < ready.config.prerequisite_ready:
                implied[pre] = Target(1, "prerequisite")
                stack.append(pre)
    return implied


def _due_refreshers(
    inp: PolicyInput, targets: Mapping[int, Target], statuses: Mapping[int, str]
) -> list[DueRefresher]:
    if not inp.refresh:
        return []
    scheduler = inp.scheduler or RefreshScheduler()
    cards = {
        s: st
        for s, st in inp.refresh.items()
        if s in targets and statuses.get(s) == STATUS_REFRESH_DUE
    }
    return scheduler.due(cards, inp.now)


def _refresher_step(
    inp: PolicyInput,
    due: Sequence[DueRefresher],
    targets: Mapping[int, Target],
    estimates: Mapping[int, float],
    budget: float | None,
) -> Recommendation | None:
    """A short retrieval activity for the most urgent due skill that has one that fits."""
    cat = inp.catalog
    recent = {a.activity_id for a in inp.history[-5:]}
    for item in due:
        tgt = targets[item.skill_id]
        options: list[tuple[tuple[int, int, float], ActivityInfo]] = []
        for activity_id in cat.by_skill.get(item.skill_id, ()):
            activity = cat.activities[activity_id]
            if activity.kind not in REFRESHER_KINDS or not _fits(activity, budget):
                continue
            if activity_id in inp.overrides.skipped_activities:
                continue
            link = next(lk for lk in activity.skills if lk.skill_id == item.skill_id)
            if link.level > tgt.level:
                continue
            rank = (
                0 if activity.kind == "refresher" else 1,
                1 if activity_id in recent else 0,
                activity.duration_min - 0.1 * link.level,
            )
            options.append((rank, activity))
        if not options:
            continue
        options.sort(key=lambda o: o[0])
        activity = options[0][1]
        name = cat.skill_name(item.skill_id)
        p_now = estimates[item.skill_id]
        code = "refresher_drift" if item.drift else "refresher_due"
        why = (
            "recent work signals suggest it is slipping"
            if item.drift
            else f"it is due for review (recall now about {_pct(item.retrievability)})"
        )
        return Recommendation(
            kind="refresher",
            activity_id=activity.id,
            skill_ids=(item.skill_id,),
            minutes=activity.duration_min,
            runners_up=tuple(o[1].id for o in options[1:3]),
            reason=Reason(
                code=code,
                numbers={
                    "skill_id": item.skill_id,
                    "retrievability": round(item.retrievability, 4),
                    "due": item.due.isoformat(),
                    "overdue_days": round(item.overdue_days, 2),
                    "p_target": round(p_now, 4),
                    "target_level": tgt.level,
                    "due_refreshers": len(due),
                },
                learner_text=(
                    f"A quick refresher on {name} ({activity.duration_min:g} min): {why}."
                ),
                manager_text=(
                    f"Refresher for mastered skill {name} (target level {tgt.level}): "
                    f"{'drift in work evidence brought it forward' if item.drift else 'FSRS'} "
                    f"due {item.due:%Y-%m-%d}, predicted recall {item.retrievability:.2f}, "
                    f"P(at target) {p_now:.2f}; {len(due)} refresher(s) due."
                ),
            ),
        )
    return None


def _done(
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


def _stop_for_time(budget: float, shortest: float | None = None) -> Recommendation:
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


@dataclass
class _Candidate:
    activity: ActivityInfo
    learn_gain: float = 0.0
    info_gain: float = 0.0
    skills: list[int] = field(default_factory=list)
    remediation: bool = False
    manager_rank: int = 0

    @property
    def gain(self) -> float:
        return self.learn_gain + self.info_gain


def _learning_step(
    inp: PolicyInput,
    targets: Mapping[int, Target],
    gaps: set[int],
    implied: Mapping[int, Target],
    estimates: Mapping[int, float],
    ready: _ReadyCache,
    attempts: Mapping[int, int],
    budget: float | None,
) -> Recommendation:
    cat = inp.catalog
    cfg = inp.config
    model = inp.model
    failures = _last_failures(inp.history, cfg.pass_score)
    failed_groups = {
        s: cat.activities[a].explanation_group
        for s, a in failures.items()
        if a in cat.activities
    }
    failed_teaching = {
        s: cat.activities[a].kind not in ASSESSMENT_KINDS
        for s, a in failures.items()
        if a in cat.activities
    }
    failed_difficulty = {
        s: cat.activities[a].difficulty
        for s, a in failures.items()
        if a in cat.activities
    }
    order_rank = {s: i for i, s in enumerate(inp.overrides.skill_order)}
    posteriors = {s: model.posterior(s, inp.now) for s in gaps}
    k_levels = model.n_levels

    # Gather (activity, skill link) pairs that could serve a gap, then score them at once.
    rows: list[tuple[_Candidate, int, int, float, float]] = []
    candidates: dict[int, _Candidate] = {}
    blocked: dict[int, tuple[int, ...]] = {}
    shortest_unfit: float | None = None
    for skill_id in gaps:
        tgt = targets[skill_id]
        for activity_id in cat.by_skill.get(skill_id, ()):
            activity = cat.activities[activity_id]
            if activity_id in inp.overrides.skipped_activities:
                continue
            link = next(lk for lk in activity.skills if lk.skill_id == skill_id)
            if link.level > tgt.level or link.level >= k_levels:
                continue
            unmet = ready.unmet(skill_id, link.level)
            if unmet:
                blocked[skill_id] = unmet
                continue
            if failures.get(skill_id) == activity_id:
                continue  # never the same text again right after failing it
            if not _fits(activity, budget):
                d = activity.duration_min
                shortest_unfit = d if shortest_unfit is None else min(shortest_unfit, d)
                continue
            cand = candidates.get(activity_id)
            if cand is None:
                cand = _Candidate(activity)
                candidates[activity_id] = cand
            cand.skills.append(skill_id)
            if skill_id in failures and failed_teaching.get(skill_id, False):
                same_group = (
                    activity.explanation_group is not None
                    and activity.explanation_group == failed_groups.get(skill_id)
                )
                easier = activity.difficulty < failed_difficulty.get(skill_id, 0.0)
                cand.remediation = cand.remediation or same_group or easier
            if order_rank:
                rank = order_rank.get(skill_id, len(order_rank))
                cand.manager_rank = (
                    rank if len(cand.skills) == 1 else min(cand.manager_rank, rank)
                )
            rows.append((cand, skill_id, link.level, link.weight, float(tgt.level)))

    if not candidates:
        if shortest_unfit is not None and budget is not None:
            return _stop_for_time(budget, shortest_unfit)
        return _nothing_available(inp, gaps, blocked)

    _score_rows(inp, rows, posteriors)

    pool = list(candidates.values())
    if order_rank:
        best_rank = min(c.manager_rank for c in pool)
        pool = [c for c in pool if c.manager_rank == best_rank]

    def utility(c: _Candidate) -> float:
        u = c.gain / max(c.activity.duration_min, 0.5)
        if c.remediation:
            u *= REMEDIATION_BONUS
        seen = attempts.get(c.activity.id, 0)
        if seen:
            u *= REPEAT_PENALTY**seen
        return u

    pool.sort(key=lambda c: (-utility(c), c.activity.duration_min, c.activity.id))
    best = pool[0]
    return _explain_learning(
        inp,
        best,
        pool[1:4],
        utility(best),
        targets,
        implied,
        estimates,
        failures,
        len(gaps),
    )


def _score_rows(
    inp: PolicyInput,
    rows: Sequence[tuple[_Candidate, int, int, float, float]],
    posteriors: Mapping[int, np.ndarray],
) -> None:
    """Vectorised gains for every (activity, skill) pair (numpy over pairs x levels)."""
    if not rows:
        return
    model = inp.model
    k = model.n_levels
    m = len(rows)
    probs = np.empty((m, k))
    pc = np.empty((m, k))
    n_items = np.empty(m, dtype=np.int64)
    target = np.empty(m, dtype=np.int64)
    level = np.empty(m, dtype=np.int64)
    learn = np.empty(m)
    weight = np.empty(m)
    teach = np.empty(m)
    state_idx = np.arange(k)
    for i, (cand, skill_id, lvl, w, tgt) in enumerate(rows):
        act = cand.activity
        const = model.const(skill_id)
        guess, slip = adjust_for_difficulty(
            const.guess[lvl], const.slip[lvl], act.difficulty
        )
        probs[i] = posteriors[skill_id]
        pc[i] = np.where(state_idx >= lvl, 1.0 - slip, guess)
        n_items[i] = act.n_items
        target[i] = int(tgt)
        level[i] = lvl
        learn[i] = const.learn[lvl]
        weight[i] = w
        teach[i] = KIND_TEACHING.get(act.kind, 1.0)

    # Learning: mass just below the activity's level moves up; progress = E[min(L, t)]/t.
    below = probs[np.arange(m), level - 1]
    learn_gain = learn * teach * below / target

    # Information about the decision that matters: is the skill at target (binary
    # entropy of P(level >= target))? Lower-level detail does not change what we do.
    above = state_idx[None, :] >= target[:, None]

    def target_entropy(p: np.ndarray) -> np.ndarray:
        q = np.clip(np.where(above, p, 0.0).sum(axis=1), 1e-12, 1.0 - 1e-12)
        return np.asarray(-(q * np.log2(q) + (1.0 - q) * np.log2(1.0 - q)))

    h0 = target_entropy(probs)
    expected = np.zeros(m)
    for j in range(int(n_items.max()) + 1):
        valid = n_items >= j
        if not valid.any():
            break
        comb = np.array([math.comb(int(n), j) if n >= j else 0 for n in n_items])
        fails = np.maximum(n_items[:, None] - j, 0)
        like = comb[:, None] * pc**j * (1.0 - pc) ** fails
        joint = probs * like
        pk = joint.sum(axis=1)
        ok = valid & (pk > 1e-12)
        safe = np.where(ok, pk, 1.0)
        expected += np.where(ok, pk * target_entropy(joint / safe[:, None]), 0.0)
    info_bits = np.where(n_items > 0, np.maximum(h0 - expected, 0.0), 0.0)
    # Worth of knowing: the chance the answer lets us skip (already at this level).
    p_known = np.where(state_idx[None, :] >= level[:, None], probs, 0.0).sum(axis=1)
    info_gain = inp.config.info_weight * info_bits * p_known

    for i, (cand, *_rest) in enumerate(rows):
        cand.learn_gain += float(weight[i] * learn_gain[i])
        cand.info_gain += float(weight[i] * info_gain[i])


def _nothing_available(
    inp: PolicyInput, gaps: set[int], blocked: Mapping[int, tuple[int, ...]]
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


def _explain_learning(
    inp: PolicyInput,
    best: _Candidate,
    runners_up: Sequence[_Candidate],
    utility: float,
    targets: Mapping[int, Target],
    implied: Mapping[int, Target],
    estimates: Mapping[int, float],
    failures: Mapping[int, int],
    n_gaps: int,
) -> Recommendation:
    cat = inp.catalog
    act = best.activity
    main = max(
        best.skills,
        key=lambda s: (
            targets[s].level - inp.model.p_at_least(s, targets[s].level, inp.now)
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
            f"{_pct(inp.config.prerequisite_ready)} at level 1 and blocks "
            f"{', '.join(blocked_for)}; best gain per minute {utility:.4f}."
        )
    elif best.info_gain > best.learn_gain:
        code = "check_known"
        learner = (
            f"A short check on {name} ({act.duration_min:g} min): you may already be at "
            f"“{level_name}” ({_pct(est.p_target)} likely). If so, we skip ahead."
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
            f"“{level_name}”. You are about {_pct(est.p_target)} of the way to sure."
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
