"""Pure: the older card-based policy's learning step, candidates scored in one numpy pass.

Every (activity, skill) link is a row of ``catalog.pairs``; a decision masks the rows
that could serve a gap, scores their expected learning and information gain per
minute, and sums them per activity (``adaptive.core.policy`` calls it last).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import lru_cache

import numpy as np

from adaptive.core.catalogue import PairTable
from adaptive.core.decisions import AttemptRecord, Recommendation
from adaptive.core.level_belief import DIFFICULTY_SCALE
from adaptive.core.policy_explain import (
    ASSESSMENT_KINDS,
    Candidate,
    PolicyInput,
    explain_learning,
    nothing_available,
    stop_for_time,
)
from adaptive.core.skill_progress import PolicyConfig, Target

# How much an activity kind teaches, relative to a lesson (assessment teaches a little).
KIND_TEACHING = {"quiz": 0.5, "refresher": 0.3, "assessment": 0.3}
REMEDIATION_BONUS = 1.5
REPEAT_PENALTY = 0.5


def last_failures(
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


class Beliefs:
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


def learning_step(
    inp: PolicyInput,
    targets: Mapping[int, Target],
    gaps: set[int],
    implied: Mapping[int, Target],
    estimates: Mapping[int, float],
    beliefs: Beliefs,
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

    failures = last_failures(inp.history, cfg.pass_score)
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
            return stop_for_time(budget, float(duration[unfit].min()))
        blocked = {int(pt.skill_ids[i]) for i in blocked_skills}
        return nothing_available(inp, gaps, blocked)

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

    def candidate(j: int) -> Candidate:
        mine = inverse == j
        return Candidate(
            activity=cat.activities[int(act_ids[j])],
            learn_gain=float(learn_sum[j]),
            info_gain=float(info_sum[j]),
            skills=[int(s) for s in pt.skill_ids[r_skill[mine]]],
            remediation=bool(remediation[j]),
            manager_rank=int(rank[j]),
        )

    best = candidate(int(top[0]))
    return explain_learning(
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
    pt: PairTable, beliefs: Beliefs, cfg: PolicyConfig, k_levels: int
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
    inp: PolicyInput, beliefs: Beliefs, rows: np.ndarray, target: np.ndarray
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
