"""Pure: the vectorised EM that fits per-skill BKT-with-forgetting (layout, passes, steps).

Model (one hidden state per learner and skill, 1 = known), for each opportunity:

1. decay: before an opportunity that comes ``gap`` days after the previous one,
   ``P(known) <- P(known) * (1 - forget_per_day) ** gap`` (no decay before the first);
2. predict: ``P(correct) = P(known) * (1 - slip) + (1 - P(known)) * guess``;
3. observe: Bayes' rule with the response (``weight`` tempers its likelihood);
4. learn: ``P(known) <- P(known) + (1 - P(known)) * learn``.

Forgetting is fitted on elapsed *days*, not per opportunity: learners return after
very different gaps, and a per-opportunity forget rate would charge a same-session
retry the same decay as a month away.

EM is Baum-Welch over every sequence of every skill at once. Sequences are laid out
"time-major": sorted by length, step ``t`` holds the ``n_t`` sequences that are at
least ``t + 1`` long, contiguously, so one step is a handful of numpy operations on a
slice and the Python loop runs over steps (the longest sequence), never over
responses. The M-step is closed form for prior, learn, guess and slip (bincount per
skill) and a few safeguarded Newton steps for the forget hazard; Beta-style
pseudo-counts shrink skills with little data toward the pooled fit, and the
``BKTParams`` bounds (guess, slip <= 0.3) are enforced inside every M-step so EM can
never wander into the degenerate "knowing looks like not knowing" solutions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from adaptive.core.fit_data import (
    FORGET_MAX,
    FloatArray,
    IntArray,
    ResponseLog,
    SkillParamArrays,
)
from adaptive.core.params import (
    PROB_MIN,
)

# Hazard bounds for forget_per_day in [PROB_MIN, FORGET_MAX].
_LAMBDA_MIN = -np.log1p(-PROB_MIN)
_LAMBDA_MAX = -np.log1p(-FORGET_MAX)
_TINY = 1e-12


# --- layout ---


@dataclass(frozen=True, slots=True)
class _Layout:
    """Time-major flat layout of all (learner, skill) sequences.

    ``order`` maps flat position -> index into the caller's log. Step ``t`` occupies
    ``flat[offsets[t]:offsets[t] + active[t]]`` and its k-th entry is the k-th longest
    sequence, so sequence k's previous response sits at ``offsets[t-1] + k``.
    """

    order: IntArray
    offsets: IntArray
    active: IntArray
    skill: IntArray  # per flat position
    correct: FloatArray
    weight: FloatArray
    gap: FloatArray  # days since the previous response of the same sequence (0 at t=0)
    first: IntArray  # flat positions of each sequence's first response
    first_skill: IntArray
    to: IntArray  # flat positions with a predecessor ...
    frm: IntArray  # ... and that predecessor

    @property
    def n_steps(self) -> int:
        return int(self.active.shape[0])


def _layout(log: ResponseLog) -> _Layout:
    n = len(log)
    idx = np.arange(n, dtype=np.int64)
    # lexsort is stable: ties in time keep the caller's order.
    order = np.lexsort((idx, log.t_days, log.skill, log.learner)).astype(np.int64)
    learner = log.learner[order]
    skill = log.skill[order]
    if n == 0:
        raise ValueError("no responses to lay out")
    new_seq = np.ones(n, dtype=bool)
    new_seq[1:] = (learner[1:] != learner[:-1]) | (skill[1:] != skill[:-1])
    seq_of = np.cumsum(new_seq) - 1
    starts = np.flatnonzero(new_seq)
    lengths = np.diff(np.append(starts, n))
    pos = idx - starts[seq_of]
    # rank sequences by length, longest first (stable for determinism)
    by_len = np.argsort(-lengths, kind="stable")
    rank = np.empty_like(by_len)
    rank[by_len] = np.arange(by_len.shape[0])
    n_steps = int(lengths.max())
    sorted_lengths = lengths[by_len]
    # active[t] = number of sequences longer than t
    ascending = sorted_lengths[::-1]
    steps = np.arange(n_steps)
    active = (
        ascending.shape[0] - np.searchsorted(ascending, steps, side="right")
    ).astype(np.int64)
    offsets = np.zeros(n_steps + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(active)
    flat_of_sorted = offsets[pos] + rank[seq_of]
    flat_order = np.empty(n, dtype=np.int64)
    flat_order[flat_of_sorted] = order
    t_sorted = log.t_days[order]
    gap_sorted = np.zeros(n, dtype=np.float64)
    gap_sorted[1:] = np.diff(t_sorted)
    gap_sorted[new_seq] = 0.0
    gap = np.empty(n, dtype=np.float64)
    gap[flat_of_sorted] = np.maximum(gap_sorted, 0.0)
    flat_skill = log.skill[flat_order]
    first = np.arange(int(active[0]), dtype=np.int64)
    to = np.arange(int(active[0]), n, dtype=np.int64)
    # the predecessor of flat position offsets[t] + k is offsets[t-1] + k
    step_of_to = np.repeat(np.arange(1, n_steps, dtype=np.int64), active[1:])
    frm = to - offsets[step_of_to] + offsets[step_of_to - 1]
    return _Layout(
        order=flat_order,
        offsets=offsets,
        active=active,
        skill=flat_skill,
        correct=log.correct[flat_order],
        weight=log.weight[flat_order],
        gap=gap,
        first=first,
        first_skill=flat_skill[first],
        to=to,
        frm=frm,
    )


# --- EM core ---


@dataclass(frozen=True, slots=True)
class _Passes:
    """Forward quantities for every flat position."""

    p_known: FloatArray  # predictive P(known) before the response
    alpha: FloatArray  # filtered P(known) after the response (before learning)
    scale: FloatArray  # P(response | past): the likelihood factor
    e1: FloatArray
    e0: FloatArray
    retention: FloatArray
    learn: FloatArray


def _forward(
    lay: _Layout, groups: IntArray, first_groups: IntArray, p: SkillParamArrays
) -> _Passes:
    guess = p.guess[groups]
    slip = p.slip[groups]
    right = lay.correct > 0.5
    e1 = np.where(right, 1.0 - slip, slip)
    e0 = np.where(right, guess, 1.0 - guess)
    if np.any(lay.weight != 1.0):
        e1 = e1**lay.weight
        e0 = e0**lay.weight
    # forget_per_day -> retention over the gap: (1 - f) ** gap
    retention = np.exp(np.log1p(-p.forget_per_day[groups]) * lay.gap)
    learn = p.learn[groups]
    n = lay.correct.shape[0]
    p_known = np.empty(n)
    alpha = np.empty(n)
    scale = np.empty(n)
    off, act = lay.offsets, lay.active
    for t in range(lay.n_steps):
        a, k = int(off[t]), int(act[t])
        sl = slice(a, a + k)
        if t == 0:
            pk = p.prior[first_groups]
        else:
            prev = alpha[int(off[t - 1]) : int(off[t - 1]) + k]
            pk = (prev + (1.0 - prev) * learn[sl]) * retention[sl]
        p_known[sl] = pk
        num = pk * e1[sl]
        den = num + (1.0 - pk) * e0[sl]
        scale[sl] = den
        alpha[sl] = num / den
    return _Passes(p_known, alpha, scale, e1, e0, retention, learn)


def _backward(lay: _Layout, f: _Passes) -> tuple[FloatArray, FloatArray]:
    """Scaled backward variables (beta0, beta1) for every flat position."""
    n = lay.correct.shape[0]
    beta0 = np.ones(n)
    beta1 = np.ones(n)
    off, act = lay.offsets, lay.active
    for t in range(lay.n_steps - 2, -1, -1):
        k = int(act[t + 1])
        nxt = slice(int(off[t + 1]), int(off[t + 1]) + k)
        cur = slice(int(off[t]), int(off[t]) + k)
        b0 = f.e0[nxt] * beta0[nxt] / f.scale[nxt]
        b1 = f.e1[nxt] * beta1[nxt] / f.scale[nxt]
        r = f.retention[nxt]
        diff = b1 - b0
        beta0[cur] = b0 + f.learn[nxt] * r * diff
        beta1[cur] = b0 + r * diff
    return beta0, beta1


def _newton_forget(
    lam: FloatArray,
    groups: IntArray,
    gap: FloatArray,
    survived: FloatArray,
    forgot: FloatArray,
    anchor_forget: FloatArray,
    strength: float,
    steps: int,
) -> FloatArray:
    """Maximise sum[survived*log r + forgot*log(1-r)], r = exp(-lam*gap), per group.

    The score is convex and decreasing in lam, so Newton from the left of the root
    converges monotonically, and from the right lands left of it; clipping keeps
    lam inside the safe bounds. Pseudo-counts (one-day gaps) pull toward the anchor.
    """
    n_groups = lam.shape[0]
    f0 = anchor_forget
    for _ in range(steps):
        x = lam[groups] * gap
        em1 = np.maximum(np.expm1(x), _TINY)
        grad_terms = -survived * gap + forgot * gap / em1
        hess_terms = -forgot * gap * gap * (em1 + 1.0) / (em1 * em1)
        em1_anchor = np.maximum(np.expm1(lam), _TINY)
        grad = _sum_by(groups, grad_terms, n_groups) + strength * (
            -(1.0 - f0) + f0 / em1_anchor
        )
        hess = _sum_by(groups, hess_terms, n_groups) - strength * f0 * (
            em1_anchor + 1.0
        ) / (em1_anchor * em1_anchor)
        hess = np.minimum(hess, -_TINY)
        lam = np.clip(lam - grad / hess, _LAMBDA_MIN, _LAMBDA_MAX)
    return lam


def _shrunk_ratio(
    strength: float,
) -> Callable[[FloatArray, FloatArray, FloatArray], FloatArray]:
    """MAP estimate num/den with ``strength`` pseudo-counts at the anchor value."""

    def ratio(num: FloatArray, den: FloatArray, anchor: FloatArray) -> FloatArray:
        total = den + strength
        ok = total > _TINY
        return np.where(
            ok, (num + strength * anchor) / np.where(ok, total, 1.0), anchor
        )

    return ratio


def _sum_by(groups: IntArray, values: FloatArray, n_groups: int) -> FloatArray:
    """Per-group sums (a segment sum; bincount is the fastest one numpy has)."""
    return np.bincount(groups, weights=values, minlength=n_groups).astype(np.float64)


@dataclass(frozen=True, slots=True)
class _EMResult:
    params: SkillParamArrays
    log_likelihood: FloatArray  # per group
    iterations: int
    converged: bool


def _em(
    lay: _Layout,
    groups: IntArray,
    first_groups: IntArray,
    init: SkillParamArrays,
    anchor: SkillParamArrays,
    strength: float,
    max_iter: int,
    tol: float,
    newton_steps: int = 3,
) -> _EMResult:
    n_groups = len(init)
    p = init.clipped()
    n_obs = max(float(lay.weight.sum()), 1.0)
    y = lay.correct
    w = lay.weight
    to, frm = lay.to, lay.frm
    to_groups = groups[to]
    timed = lay.gap[to] > 0.0
    timed_groups = to_groups[timed]
    timed_gap = lay.gap[to][timed]
    lam = -np.log1p(-p.forget_per_day)
    previous = -np.inf
    converged = False
    iterations = 0
    ll = np.zeros(n_groups)
    for iterations in range(1, max_iter + 1):  # noqa: B007 (read after the loop)
        f = _forward(lay, groups, first_groups, p)
        ll = _sum_by(groups, np.log(f.scale), n_groups)
        total = float(ll.sum())
        if total - previous < tol * n_obs:
            converged = True
            break
        previous = total
        beta0, beta1 = _backward(lay, f)
        gamma1 = f.alpha * beta1
        gamma0 = 1.0 - gamma1
        b0 = f.e0[to] * beta0[to] / f.scale[to]
        b1 = f.e1[to] * beta1[to] / f.scale[to]
        a = f.alpha[frm]
        r = f.retention[to]
        learn = f.learn[to]
        lr = learn * r
        xi00 = (1.0 - a) * (1.0 - lr) * b0
        xi01 = (1.0 - a) * lr * b1
        xi10 = a * (1.0 - r) * b0
        xi11 = a * r * b1
        # (unknown, unknown) pairs split into "never learned" and "learned, then forgot"
        learned_then_forgot = xi00 * learn * (1.0 - r) / (1.0 - lr)
        ratio = _shrunk_ratio(strength)
        prior = ratio(
            _sum_by(first_groups, gamma1[lay.first], n_groups),
            np.bincount(first_groups, minlength=n_groups).astype(np.float64),
            anchor.prior,
        )
        learn_new = ratio(
            _sum_by(to_groups, xi01 + learned_then_forgot, n_groups),
            _sum_by(to_groups, xi00 + xi01, n_groups),
            anchor.learn,
        )
        guess = ratio(
            _sum_by(groups, w * gamma0 * y, n_groups),
            _sum_by(groups, w * gamma0, n_groups),
            anchor.guess,
        )
        slip = ratio(
            _sum_by(groups, w * gamma1 * (1.0 - y), n_groups),
            _sum_by(groups, w * gamma1, n_groups),
            anchor.slip,
        )
        lam = _newton_forget(
            lam,
            timed_groups,
            timed_gap,
            (xi01 + xi11)[timed],
            (xi10 + learned_then_forgot)[timed],
            anchor.forget_per_day,
            strength,
            newton_steps,
        )
        p = SkillParamArrays(
            prior=prior,
            learn=learn_new,
            guess=guess,
            slip=slip,
            forget_per_day=-np.expm1(-lam),
        ).clipped()
        lam = -np.log1p(-p.forget_per_day)
    return _EMResult(p, ll, iterations, converged)
