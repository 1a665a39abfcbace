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
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from adaptive.core.catalogue import REFRESHER_KINDS, ActivityInfo, Catalog, PairTable
from adaptive.core.learner import LearnerModel
from adaptive.core.learner_types import SkillEstimate
from adaptive.core.level_belief import DIFFICULTY_SCALE
from adaptive.core.refresh import DueRefresher, RefreshScheduler, RefreshState

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
    # While gaps remain, a due refresher goes first only when its predicted recall is
    # below this (or drift brought it forward); 1.0 = every due refresher goes first.
    refresh_recall_while_learning: float = 1.0


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
    # Targets are immutable: one shared object per level (roles have thousands).
    shared = {t: Target(t, "role") for t in set(role_targets.values()) if t > 0}
    out = {s: shared[t] for s, t in role_targets.items() if t > 0}
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

    def p(self, skill_id: int, level: int) -> float:
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

    model = inp.model
    skill_ids = list(targets)
    n_targets = len(skill_ids)
    matrix = model.posteriors(skill_ids, now)
    tails = np.cumsum(matrix[:, ::-1], axis=1)[:, ::-1]
    levels = np.fromiter((t.level for t in targets.values()), np.int64, n_targets)
    in_scale = levels < model.n_levels
    p_target = np.where(
        in_scale, tails[np.arange(n_targets), np.where(in_scale, levels, 0)], 0.0
    )
    estimates = dict(zip(skill_ids, p_target.tolist(), strict=True))
    # Done: mastered with evidence, or (with a refresher card) still maintained.
    states = model.states
    n_evidence = np.fromiter(
        (st.n_evidence if (st := states.get(s)) is not None else 0 for s in skill_ids),
        np.int64,
        n_targets,
    )
    done = (p_target >= cfg.mastery) & (n_evidence >= cfg.min_evidence)
    statuses: dict[int, str] = {}
    position = {s: i for i, s in enumerate(skill_ids)} if inp.refresh else {}
    for skill_id, card in inp.refresh.items():
        i = position.get(skill_id)
        if i is not None:
            status = skill_status(
                float(p_target[i]), int(n_evidence[i]), card, now, cfg
            )
            statuses[skill_id] = status
            done[i] |= status in DONE_STATUSES
    gap_ids = np.fromiter(skill_ids, np.int64, n_targets)[~done]
    gaps = set(gap_ids.tolist())

    # Implied prerequisites exist only below a gap, so they cannot change this.
    due = _due_refreshers(inp, targets, statuses)
    if gaps:
        due = [
            d
            for d in due
            if d.drift or d.retrievability < cfg.refresh_recall_while_learning
        ]
    last_was_refresher = bool(inp.history) and inp.history[-1].refresher
    if due and (not gaps or due[0].drift or not last_was_refresher):
        refresher = _refresher_step(inp, due, targets, estimates, budget)
        if refresher is not None:
            return refresher

    if not gaps:
        return _done(inp, targets, estimates)

    beliefs = _Beliefs(inp, skill_ids, matrix, levels, ~done)
    implied = _implied_prerequisites(cat, beliefs, inp.overrides, cfg)
    all_targets = {**targets, **implied}
    gaps |= set(implied)
    return _learning_step(
        inp,
        all_targets,
        gaps,
        implied,
        estimates,
        beliefs,
        attempts_by_activity,
        budget,
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
    cat: Catalog, beliefs: _Beliefs, overrides: Overrides, config: PolicyConfig
) -> dict[int, Target]:
    """Prerequisites outside the targets that block a gap skill become level-1 targets
    (and so on down the graph); one masked pass over the edges per graph layer."""
    pt = cat.pairs
    n = len(pt.skill_ids)
    excluded = beliefs.target_level > 0
    skipped = [
        pt.skill_index[s] for s in overrides.skipped_skills if s in pt.skill_index
    ]
    excluded[skipped] = True
    frontier = beliefs.gap_level > 0
    implied = np.zeros(n, dtype=bool)
    while frontier.any():
        pre = np.unique(pt.edge_pre[frontier[pt.edge_skill]])
        pre = pre[~excluded[pre] & ~implied[pre]]
        if not len(pre):
            break
        p_level_1 = beliefs.rows(pre)[:, 1:].sum(axis=1)
        new = pre[p_level_1 < config.prerequisite_ready]
        implied[new] = True
        frontier = np.zeros(n, dtype=bool)
        frontier[new] = True
    index = np.flatnonzero(implied)
    beliefs.add_implied(index)
    return {int(s): Target(1, "prerequisite") for s in pt.skill_ids[index]}


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


class _Beliefs:
    """One decision's view of the learner by dense catalogue skill index.

    Posterior rows are filled on demand with the model's vectorised ``posteriors``
    (the target skills' rows are handed in already computed), so a decision never
    loops over skills one posterior at a time. ``target_level`` and ``gap_level`` hold
    each skill's target level (0: none / not a gap); implied prerequisites join the
    gaps at level 1.
    """

    def __init__(
        self,
        inp: PolicyInput,
        seeded: Sequence[int],
        rows: np.ndarray,
        levels: np.ndarray,
        is_gap: np.ndarray,
    ) -> None:
        pt = inp.catalog.pairs
        self.model = inp.model
        self.now = inp.now
        self.skill_ids = pt.skill_ids
        n, k = len(pt.skill_ids), inp.model.n_levels
        self.probs = np.zeros((n, k))
        self.have = np.zeros(n, dtype=bool)
        self.target_level = np.zeros(n, dtype=np.int64)
        self.gap_level = np.zeros(n, dtype=np.int64)
        index = pt.skill_index
        idx = np.fromiter((index.get(s, -1) for s in seeded), np.int64, len(seeded))
        known = idx >= 0
        at = idx[known]
        self.probs[at] = rows[known]
        self.have[at] = True
        self.target_level[at] = levels[known]
        gap = known & is_gap
        self.gap_level[idx[gap]] = levels[gap]

    def rows(self, index: np.ndarray) -> np.ndarray:
        """Posterior rows for dense skill ``index``.

        The first miss fills every missing row in one vectorised call: the walks over
        the graph come back layer by layer, and one call is cheaper than many.
        """
        if not self.have[index].all():
            missing = np.flatnonzero(~self.have)
            ids = [int(s) for s in self.skill_ids[missing]]
            self.probs[missing] = self.model.posteriors(ids, self.now)
            self.have[missing] = True
        return np.asarray(self.probs[index])

    def all_rows(self) -> np.ndarray:
        """Every skill's posterior (a view; fills the missing rows first)."""
        if not self.have.all():
            self.rows(np.flatnonzero(~self.have))
        return self.probs

    def level_params(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Guess, slip and learn by (dense skill index, level)."""
        return self.model.level_params([int(s) for s in self.skill_ids])

    def add_implied(self, index: np.ndarray) -> None:
        """Prerequisites outside the targets become level-1 targets and gaps."""
        self.target_level[index] = 1
        self.gap_level[index] = 1


def _learning_step(
    inp: PolicyInput,
    targets: Mapping[int, Target],
    gaps: set[int],
    implied: Mapping[int, Target],
    estimates: Mapping[int, float],
    beliefs: _Beliefs,
    attempts: Mapping[int, int],
    budget: float | None,
) -> Recommendation:
    """The best (activity, skill) candidates by expected gain per minute.

    Every (activity, skill) link of the catalogue is a row of ``catalog.pairs``; one
    decision selects the rows that could serve a gap with boolean masks and scores
    them in one numpy pass, then sums them per activity.
    """
    cat = inp.catalog
    cfg = inp.config
    pt = cat.pairs
    k_levels = inp.model.n_levels
    gap_level = beliefs.gap_level
    row_target = gap_level[pt.pair_skill]
    mask = (row_target > 0) & (pt.pair_level <= row_target) & (pt.pair_level < k_levels)
    skipped = inp.overrides.skipped_activities
    if skipped:
        skip_idx = [pt.activity_index[a] for a in skipped if a in pt.activity_index]
        skip_act = np.zeros(len(pt.activity_ids), dtype=bool)
        skip_act[skip_idx] = True
        mask &= ~skip_act[pt.pair_act]

    # Prerequisites met for the level each row teaches (capped by their own target)?
    blocked_sl = _blocked_levels(pt, beliefs, cfg, k_levels)
    ready = ~blocked_sl[pt.pair_skill, np.minimum(pt.pair_level, k_levels - 1)]
    blocked_skills = np.unique(pt.pair_skill[mask & ~ready])
    mask &= ready

    failures = _last_failures(inp.history, cfg.pass_score)
    for skill_id, activity_id in failures.items():
        row = pt.pair_row.get((activity_id, skill_id))
        if row is not None:
            mask[row] = False  # never the same text again right after failing it

    duration = pt.act_duration[pt.pair_act]
    unfit = np.zeros_like(mask)
    if budget is not None:
        unfit = mask & (duration > budget + 1e-9)
        mask &= ~unfit
    rows = np.flatnonzero(mask)
    if not len(rows):
        if budget is not None and unfit.any():
            return _stop_for_time(budget, float(duration[unfit].min()))
        blocked = {int(pt.skill_ids[i]) for i in blocked_skills}
        return _nothing_available(inp, gaps, blocked)

    r_act = pt.pair_act[rows]
    r_skill = pt.pair_skill[rows]
    r_weight = pt.pair_weight[rows]
    learn_gain, info_gain = _score_pairs(
        inp, beliefs, rows, gap_level[r_skill].astype(np.float64)
    )

    # Rows come ordered by activity, so grouping them is a running count.
    starts = np.empty(len(r_act), dtype=bool)
    starts[0] = True
    np.not_equal(r_act[1:], r_act[:-1], out=starts[1:])
    inverse = np.cumsum(starts) - 1
    acts = r_act[starts]
    n_act = len(acts)
    learn_sum = np.bincount(inverse, weights=r_weight * learn_gain, minlength=n_act)
    info_sum = np.bincount(inverse, weights=r_weight * info_gain, minlength=n_act)

    remediation = _remediation(inp, pt, failures, r_skill, r_act, inverse, n_act)

    order_rank = {s: i for i, s in enumerate(inp.overrides.skill_order)}
    pool = np.ones(n_act, dtype=bool)
    rank = np.zeros(n_act, dtype=np.int64)
    if order_rank:
        skill_rank = np.full(len(pt.skill_ids), len(order_rank), dtype=np.int64)
        for skill_id, r in order_rank.items():
            i = pt.skill_index.get(skill_id)
            if i is not None:
                skill_rank[i] = r
        rank = np.full(n_act, len(order_rank), dtype=np.int64)
        np.minimum.at(rank, inverse, skill_rank[r_skill])
        pool = rank == rank.min()

    seen = np.zeros(n_act, dtype=np.int64)
    for activity_id, count in attempts.items():
        j = pt.activity_index.get(activity_id)
        at = int(np.searchsorted(acts, j)) if j is not None else n_act
        if at < n_act and acts[at] == j:
            seen[at] = count
    act_duration = pt.act_duration[acts]
    utility = (learn_sum + info_sum) / np.maximum(act_duration, 0.5)
    utility = np.where(remediation, utility * REMEDIATION_BONUS, utility)
    utility = np.where(seen > 0, utility * REPEAT_PENALTY**seen, utility)

    act_ids = pt.activity_ids[acts]
    choice = np.flatnonzero(pool)
    if len(choice) > 4:
        # Only the best four matter: keep everything tied with the fourth, then sort.
        fourth = np.partition(utility[choice], len(choice) - 4)[len(choice) - 4]
        choice = choice[utility[choice] >= fourth]
    order = np.lexsort((act_ids[choice], act_duration[choice], -utility[choice]))
    top = choice[order[:4]]

    def candidate(j: int) -> _Candidate:
        mine = inverse == j
        return _Candidate(
            activity=cat.activities[int(act_ids[j])],
            learn_gain=float(learn_sum[j]),
            info_gain=float(info_sum[j]),
            skills=[int(s) for s in pt.skill_ids[r_skill[mine]]],
            remediation=bool(remediation[j]),
            manager_rank=int(rank[j]),
        )

    best = candidate(int(top[0]))
    return _explain_learning(
        inp,
        best,
        [candidate(int(j)) for j in top[1:]],
        float(utility[top[0]]),
        targets,
        implied,
        estimates,
        failures,
        len(gaps),
    )


def _blocked_levels(
    pt: PairTable, beliefs: _Beliefs, cfg: PolicyConfig, k_levels: int
) -> np.ndarray:
    """``[skill index, level]`` True when some prerequisite is below what that level
    needs: P(prerequisite >= min(level, its target or 1)) < ``prerequisite_ready``."""
    blocked = np.zeros((len(pt.skill_ids), k_levels), dtype=bool)
    edges = np.flatnonzero(beliefs.gap_level[pt.edge_skill] > 0)
    if not len(edges):
        return blocked
    e_skill = pt.edge_skill[edges]
    e_pre = pt.edge_pre[edges]
    pre_target = np.maximum(beliefs.target_level[e_pre], 1)
    pre_probs = beliefs.rows(e_pre)
    tails = np.cumsum(pre_probs[:, ::-1], axis=1)[:, ::-1]
    for level in range(1, k_levels):
        need = np.minimum(level, pre_target)
        p = np.where(
            need < k_levels, tails[np.arange(len(edges)), need % k_levels], 0.0
        )
        bad = e_skill[p < cfg.prerequisite_ready]
        blocked[bad, level] = True
    return blocked


def _remediation(
    inp: PolicyInput,
    pt: PairTable,
    failures: Mapping[int, int],
    r_skill: np.ndarray,
    r_act: np.ndarray,
    inverse: np.ndarray,
    n_act: int,
) -> np.ndarray:
    """Per candidate activity: is it a remediation after a failed *teaching* attempt
    (the author's alternative explanation of the same group, or an easier text)?"""
    out = np.zeros(n_act, dtype=bool)
    n = len(pt.skill_ids)
    failed_teaching = np.zeros(n, dtype=bool)
    failed_group = np.full(n, -2, dtype=np.int64)
    failed_difficulty = np.zeros(n)
    for skill_id, activity_id in failures.items():
        failed = inp.catalog.activities.get(activity_id)
        i = pt.skill_index.get(skill_id)
        if failed is None or i is None or failed.kind in ASSESSMENT_KINDS:
            continue
        failed_teaching[i] = True
        if failed.explanation_group is not None:
            failed_group[i] = pt.groups.get(failed.explanation_group, -2)
        failed_difficulty[i] = failed.difficulty
    if not failed_teaching.any():
        return out
    hit = failed_teaching[r_skill] & (
        (pt.act_group[r_act] == failed_group[r_skill])
        | (pt.act_difficulty[r_act] < failed_difficulty[r_skill])
    )
    out[inverse[hit]] = True
    return out


def _score_pairs(
    inp: PolicyInput, beliefs: _Beliefs, rows: np.ndarray, target: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Learning and information gain of each selected (activity, skill) row.

    Learning: the mass just below the row's level moves up (progress = E[min(L, t)]/t).
    Information: expected reduction of the binary entropy of "at target" from the
    activity's ``n_items`` answers, weighted by the chance the learner already knows
    the level (what lets us skip). An answer at level l only tells "below l" (correct
    with guess) from "at or above l" (correct with 1 - slip), and l <= target, so the
    posterior of "at target" after j of n correct needs just three masses per row:
    below l, from l up to the target, and at or above the target.
    """
    pt = inp.catalog.pairs
    model = inp.model
    k = model.n_levels
    m = len(rows)
    act = pt.pair_act[rows]
    skill = pt.pair_skill[rows]
    level = pt.pair_level[rows]
    probs_all = beliefs.all_rows()
    # tails[:, l] = P(state >= l), with P(state >= k) = 0 appended.
    tails = np.zeros((len(probs_all), k + 1))
    tails[:, :k] = np.cumsum(probs_all[:, ::-1], axis=1)[:, ::-1]
    guess_t, slip_t, learn_t = beliefs.level_params()
    guess = guess_t[skill, level]
    slip = slip_t[skill, level]
    learn = learn_t[skill, level]
    difficulty = pt.act_difficulty[act]
    hard = difficulty != 0.0
    if hard.any():
        shift = DIFFICULTY_SCALE * difficulty
        g_logit = np.log(guess / (1.0 - guess)) - shift
        s_logit = np.log(slip / (1.0 - slip)) + shift
        guess = np.where(hard, 1.0 / (1.0 + np.exp(-g_logit)), guess)
        slip = np.where(hard, 1.0 / (1.0 + np.exp(-s_logit)), slip)
    teach = np.asarray([KIND_TEACHING.get(kind, 1.0) for kind in pt.kinds])[
        pt.act_kind[act]
    ]
    below = probs_all[skill, level - 1]
    learn_gain = learn * teach * below / target

    tgt = np.minimum(target.astype(np.int64), k)
    at_target = tails[skill, tgt]
    known = tails[skill, np.minimum(level, k)]  # P(state >= level)
    unknown = tails[skill, 0] - known
    n_items = pt.act_n_items[act]
    info_bits = np.zeros(m)
    asked = np.flatnonzero(n_items > 0)
    if len(asked):
        info_bits[asked] = _information_bits(
            n_items[asked],
            guess[asked],
            1.0 - slip[asked],
            unknown[asked],
            known[asked],
            at_target[asked],
        )
    info_gain = inp.config.info_weight * info_bits * known
    return learn_gain, info_gain


def _binary_entropy(q: np.ndarray) -> np.ndarray:
    q = np.clip(q, 1e-12, 1.0 - 1e-12)
    return np.asarray(-(q * np.log2(q) + (1.0 - q) * np.log2(1.0 - q)))


def _information_bits(
    n_items: np.ndarray,
    p_guess: np.ndarray,
    p_know: np.ndarray,
    unknown: np.ndarray,
    known: np.ndarray,
    at_target: np.ndarray,
) -> np.ndarray:
    """Expected entropy reduction (bits) of "at target" from ``n_items`` answers.

    Outcomes are binomial counts. One (outcomes x rows) pass: P(j of n correct) is
    C(n, j) (1 - p)^n (p / (1 - p))^j, with the powers built by running products.
    """
    n_max = int(n_items.max())
    width = n_max + 1
    cols = np.arange(len(n_items))

    def powers(base: np.ndarray) -> np.ndarray:
        out = np.empty((width, len(base)))
        out[0] = 1.0
        for j in range(1, width):
            np.multiply(out[j - 1], base, out=out[j])
        return out

    comb = _binomials(n_max).T[:, n_items]  # zero where j > n
    likelihoods = []
    for p in (p_guess, p_know):
        miss = 1.0 - p
        all_missed = powers(miss)[n_items, cols]
        likelihoods.append(comb * powers(p / miss) * all_missed)
    like_unknown, like_known = likelihoods
    pk = unknown * like_unknown + known * like_known
    ok = pk > 1e-12
    posterior = at_target * like_known / np.where(ok, pk, 1.0)
    expected = np.where(ok, pk * _binary_entropy(posterior), 0.0).sum(axis=0)
    return np.asarray(np.maximum(_binary_entropy(at_target) - expected, 0.0))


@lru_cache(maxsize=16)
def _binomials(n_max: int) -> np.ndarray:
    """``out[n, j]`` = C(n, j) (0 when j > n), read-only."""
    out = np.zeros((n_max + 1, n_max + 1))
    for n in range(n_max + 1):
        for j in range(n + 1):
            out[n, j] = math.comb(n, j)
    out.flags.writeable = False
    return out


def _nothing_available(
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
