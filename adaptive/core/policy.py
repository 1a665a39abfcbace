"""Pure: the older card-based sequencing policy, next step toward a role's targets.

The live engine decides with the mastery loop (``adaptive.core.mastery``); this
policy is main's path before issue 9, kept for the benches' comparators
(``bench/_before_tutor.py``, the baseline of ``bench/engine.py``). Its scoring is in
``policy_scoring``, its input and reasons in ``policy_explain``.

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

from collections.abc import Mapping, Sequence

import numpy as np

from adaptive.core.catalogue import REFRESHER_KINDS, ActivityInfo, Catalog
from adaptive.core.decisions import (
    DONE_STATUSES,
    STATUS_REFRESH_DUE,
    Overrides,
    Reason,
    Recommendation,
)
from adaptive.core.policy_explain import (
    PolicyInput,
    fits,
    pct,
    stop_for_time,
    targets_met,
)
from adaptive.core.policy_scoring import Beliefs, learning_step
from adaptive.core.refresh import DueRefresher, RefreshScheduler
from adaptive.core.skill_progress import (
    PolicyConfig,
    Target,
    effective_targets,
    skill_status,
)


def next_step(inp: PolicyInput) -> Recommendation:
    """Choose the next step and say why (see the module docstring for the rules)."""
    cfg = inp.config
    cat = inp.catalog
    now = inp.now
    targets = effective_targets(inp.role_targets, inp.overrides)
    budget = inp.time_budget_min
    if budget is not None and budget <= 0:
        return stop_for_time(budget)
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
        return targets_met(inp, targets, estimates)

    beliefs = Beliefs(inp, skill_ids, matrix, levels, ~done)
    implied = _implied_prerequisites(cat, beliefs, inp.overrides, cfg)
    all_targets = {**targets, **implied}
    gaps |= set(implied)
    return learning_step(
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
        if activity is None or attempts.get(activity_id) or not fits(activity, budget):
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
    cat: Catalog, beliefs: Beliefs, overrides: Overrides, config: PolicyConfig
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
            if activity.kind not in REFRESHER_KINDS or not fits(activity, budget):
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
            else f"it is due for review (recall now about {pct(item.retrievability)})"
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
