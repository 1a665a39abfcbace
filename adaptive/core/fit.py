"""Pure: fit per-skill BKT-with-forgetting parameters by vectorised EM, plus ability.

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

On top of BKT, :class:`AbilityCorrection` is a logistic layer that adds the
learner's ability, estimated online from their residuals on *earlier* responses
across all skills (so it works for new learners and never peeks ahead).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.linear_model import LogisticRegression

from adaptive.core.params import (
    DEFAULT_PARAMS,
    GUESS_MAX,
    PROB_MIN,
    SLIP_MAX,
    BKTParams,
)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

FORGET_MAX = 0.5
# Hazard bounds for forget_per_day in [PROB_MIN, FORGET_MAX].
_LAMBDA_MIN = -np.log1p(-PROB_MIN)
_LAMBDA_MAX = -np.log1p(-FORGET_MAX)
_TINY = 1e-12


@dataclass(frozen=True, slots=True)
class ResponseLog:
    """Responses as parallel arrays (any order; the fitter sorts by learner and time).

    ``skill`` is a dense group index ``0..n_skills-1``: a skill, or a (skill, level)
    pair when parameters are wanted per level.
    """

    learner: IntArray
    skill: IntArray
    correct: FloatArray
    t_days: FloatArray
    weight: FloatArray
    n_skills: int

    @classmethod
    def from_arrays(
        cls,
        learner: ArrayLike,
        skill: ArrayLike,
        correct: ArrayLike,
        t_days: ArrayLike,
        weight: ArrayLike | None = None,
        n_skills: int | None = None,
    ) -> ResponseLog:
        """Validate and normalise the arrays (outcomes >= 0.5 count as correct)."""
        learner_a = np.asarray(learner, dtype=np.int64)
        skill_a = np.asarray(skill, dtype=np.int64)
        correct_a = (np.asarray(correct, dtype=np.float64) >= 0.5).astype(np.float64)
        t_a = np.asarray(t_days, dtype=np.float64)
        n = learner_a.shape[0]
        weight_a = (
            np.ones(n, dtype=np.float64)
            if weight is None
            else np.asarray(weight, dtype=np.float64)
        )
        if not (
            skill_a.shape[0]
            == correct_a.shape[0]
            == t_a.shape[0]
            == n
            == weight_a.shape[0]
        ):
            raise ValueError("response arrays must have the same length")
        if n and (skill_a.min() < 0 or learner_a.min() < 0):
            raise ValueError("learner and skill indices must be non-negative")
        if np.any(weight_a < 0) or not np.all(np.isfinite(t_a)):
            raise ValueError("weights must be >= 0 and times finite")
        inferred = int(skill_a.max()) + 1 if n else 0
        return cls(
            learner=learner_a,
            skill=skill_a,
            correct=correct_a,
            t_days=t_a,
            weight=weight_a,
            n_skills=max(inferred, n_skills or 0),
        )

    def __len__(self) -> int:
        return int(self.learner.shape[0])

    def subset(self, mask: NDArray[np.bool_]) -> ResponseLog:
        """The responses where ``mask`` holds (same skill indexing)."""
        return ResponseLog(
            learner=self.learner[mask],
            skill=self.skill[mask],
            correct=self.correct[mask],
            t_days=self.t_days[mask],
            weight=self.weight[mask],
            n_skills=self.n_skills,
        )


@dataclass(frozen=True, slots=True)
class SkillParamArrays:
    """BKT parameters for every skill as arrays (index = skill group)."""

    prior: FloatArray
    learn: FloatArray
    guess: FloatArray
    slip: FloatArray
    forget_per_day: FloatArray

    @classmethod
    def broadcast(cls, params: BKTParams, n_skills: int) -> SkillParamArrays:
        p = params.clipped()
        return cls(
            prior=np.full(n_skills, p.prior),
            learn=np.full(n_skills, p.learn),
            guess=np.full(n_skills, p.guess),
            slip=np.full(n_skills, p.slip),
            forget_per_day=np.full(n_skills, p.forget_per_day),
        )

    @classmethod
    def from_params(cls, params: list[BKTParams]) -> SkillParamArrays:
        clipped = [p.clipped() for p in params]
        return cls(
            prior=np.array([p.prior for p in clipped], dtype=np.float64),
            learn=np.array([p.learn for p in clipped], dtype=np.float64),
            guess=np.array([p.guess for p in clipped], dtype=np.float64),
            slip=np.array([p.slip for p in clipped], dtype=np.float64),
            forget_per_day=np.array(
                [p.forget_per_day for p in clipped], dtype=np.float64
            ),
        )

    def __len__(self) -> int:
        return int(self.prior.shape[0])

    def params(self, skill: int) -> BKTParams:
        return BKTParams(
            prior=float(self.prior[skill]),
            learn=float(self.learn[skill]),
            guess=float(self.guess[skill]),
            slip=float(self.slip[skill]),
            forget_per_day=float(self.forget_per_day[skill]),
        )

    def to_list(self) -> list[BKTParams]:
        return [self.params(k) for k in range(len(self))]

    def clipped(self) -> SkillParamArrays:
        """Enforce the ``BKTParams`` safe bounds element-wise."""
        high = 1 - PROB_MIN
        return SkillParamArrays(
            prior=np.clip(self.prior, PROB_MIN, high),
            learn=np.clip(self.learn, PROB_MIN, high),
            guess=np.clip(self.guess, PROB_MIN, GUESS_MAX),
            slip=np.clip(self.slip, PROB_MIN, SLIP_MAX),
            forget_per_day=np.clip(self.forget_per_day, PROB_MIN, FORGET_MAX),
        )

    def take(self, index: IntArray) -> SkillParamArrays:
        return SkillParamArrays(
            prior=self.prior[index],
            learn=self.learn[index],
            guess=self.guess[index],
            slip=self.slip[index],
            forget_per_day=self.forget_per_day[index],
        )


# --- single learner ---


def decay(p_known: float, params: BKTParams, gap_days: float) -> float:
    """Forgetting between opportunities ``gap_days`` apart."""
    return float(p_known * (1.0 - params.forget_per_day) ** max(gap_days, 0.0))


def predict_correct(p_known: float, params: BKTParams) -> float:
    """P(correct) at the next opportunity given P(known) now."""
    return p_known * (1.0 - params.slip) + (1.0 - p_known) * params.guess


def observe(
    p_known: float, correct: bool, params: BKTParams, weight: float = 1.0
) -> float:
    """Posterior P(known) after a response, then the learning transition."""
    if correct:
        e1, e0 = 1.0 - params.slip, params.guess
    else:
        e1, e0 = params.slip, 1.0 - params.guess
    e1, e0 = float(e1**weight), float(e0**weight)
    posterior = p_known * e1 / (p_known * e1 + (1.0 - p_known) * e0)
    return posterior + (1.0 - posterior) * params.learn


def predict_sequence(
    params: BKTParams,
    correct: list[bool] | NDArray[np.bool_],
    t_days: list[float] | FloatArray,
    weight: list[float] | FloatArray | None = None,
) -> FloatArray:
    """One learner, one skill: P(correct) before each response (the online update).

    This is the plain-Python reference the vectorised forward pass must agree with.
    """
    p = params.clipped()
    out = np.empty(len(correct), dtype=np.float64)
    p_known = p.prior
    previous: float | None = None
    for i, (y, t) in enumerate(zip(correct, t_days, strict=True)):
        if previous is not None:
            p_known = decay(p_known, p, float(t) - previous)
        out[i] = predict_correct(p_known, p)
        w = 1.0 if weight is None else float(weight[i])
        p_known = observe(p_known, bool(y), p, w)
        previous = float(t)
    return out


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


# --- public API ---


@dataclass(frozen=True, slots=True)
class FitResult:
    """Fitted per-skill parameters and how the fit went."""

    params: SkillParamArrays
    pooled: BKTParams
    n_observations: IntArray  # per skill
    log_likelihood: FloatArray  # per skill, at the returned parameters
    iterations: int
    converged: bool
    seconds: float


def fit_bkt(
    log: ResponseLog,
    *,
    strength: float = 5.0,
    max_iter: int = 200,
    tol: float = 1e-6,
    pooled_iter: int = 30,
    restarts: int = 0,
    seed: int = 0,
    defaults: BKTParams = DEFAULT_PARAMS,
) -> FitResult:
    """Fit BKT-with-forgetting per skill by EM.

    First a pooled fit (all skills share one parameter set, pulled toward
    ``defaults``) gives both the starting point and the shrinkage target; then each
    skill is fitted with ``strength`` pseudo-observations of the pooled values, so a
    skill with little data stays near the pooled fit and a skill without data gets
    it exactly. ``restarts`` extra random starts (per skill, best likelihood wins)
    guard against poor local optima.

    Args:
        strength: pseudo-observations of the pooled parameters per skill (MAP EM).
        tol: stop when the log-likelihood gains less than ``tol`` per observation.

    Returns:
        A :class:`FitResult`; its parameters always satisfy the ``BKTParams`` bounds.
    """
    started = time.perf_counter()
    n_skills = log.n_skills
    if len(log) == 0:
        pooled = defaults.clipped()
        return FitResult(
            params=SkillParamArrays.broadcast(pooled, n_skills),
            pooled=pooled,
            n_observations=np.zeros(n_skills, dtype=np.int64),
            log_likelihood=np.zeros(n_skills),
            iterations=0,
            converged=True,
            seconds=time.perf_counter() - started,
        )
    lay = _layout(log)
    zeros = np.zeros_like(lay.skill)
    base = SkillParamArrays.broadcast(defaults, 1)
    pooled_fit = _em(
        lay, zeros, zeros[lay.first], base, base, strength, pooled_iter, tol
    ).params
    pooled = pooled_fit.params(0)
    anchor = SkillParamArrays.broadcast(pooled, n_skills)
    best = _em(lay, lay.skill, lay.first_skill, anchor, anchor, strength, max_iter, tol)
    rng = np.random.default_rng(seed)
    params, ll = best.params, best.log_likelihood
    iterations, converged = best.iterations, best.converged
    for _ in range(restarts):
        start = SkillParamArrays(
            prior=rng.uniform(0.05, 0.6, n_skills),
            learn=rng.uniform(0.02, 0.4, n_skills),
            guess=rng.uniform(0.05, GUESS_MAX, n_skills),
            slip=rng.uniform(0.02, SLIP_MAX, n_skills),
            forget_per_day=rng.uniform(0.001, 0.1, n_skills),
        )
        trial = _em(
            lay, lay.skill, lay.first_skill, start, anchor, strength, max_iter, tol
        )
        better = trial.log_likelihood > ll + 1e-9
        params = SkillParamArrays(
            prior=np.where(better, trial.params.prior, params.prior),
            learn=np.where(better, trial.params.learn, params.learn),
            guess=np.where(better, trial.params.guess, params.guess),
            slip=np.where(better, trial.params.slip, params.slip),
            forget_per_day=np.where(
                better, trial.params.forget_per_day, params.forget_per_day
            ),
        )
        ll = np.where(better, trial.log_likelihood, ll)
        iterations += trial.iterations
        converged = converged and trial.converged
    return FitResult(
        params=params,
        pooled=pooled,
        n_observations=np.bincount(log.skill, minlength=n_skills).astype(np.int64),
        log_likelihood=ll,
        iterations=iterations,
        converged=converged,
        seconds=time.perf_counter() - started,
    )


def predict_bkt(params: SkillParamArrays, log: ResponseLog) -> FloatArray:
    """One-step-ahead P(correct) for every response, in the log's order.

    Each prediction uses only the same learner's earlier responses on that skill
    (and the elapsed time), exactly as :func:`predict_sequence` would online.
    """
    if len(log) == 0:
        return np.zeros(0)
    if len(params) < log.n_skills:
        raise ValueError("parameters missing for some skills")
    lay = _layout(log)
    p = params.clipped()
    f = _forward(lay, lay.skill, lay.first_skill, p)
    pred = (
        f.p_known * (1.0 - p.slip[lay.skill]) + (1.0 - f.p_known) * p.guess[lay.skill]
    )
    out = np.empty_like(pred)
    out[lay.order] = pred
    return out


# --- ability layer ---


def _logit(p: FloatArray) -> FloatArray:
    q = np.clip(p, PROB_MIN, 1.0 - PROB_MIN)
    return np.asarray(np.log(q / (1.0 - q)), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class AbilityState:
    """A learner's running residuals: how much they beat (or missed) BKT so far."""

    residual_sum: float = 0.0
    count: float = 0.0


@dataclass(frozen=True, slots=True)
class AbilityCorrection:
    """Logistic layer: ``logit P = a*logit(P_bkt) + (b + c*first) * ability + d``.

    ``ability`` is the learner's mean residual (correct - P_bkt) over *earlier*
    responses on any skill, shrunk toward 0 by ``shrinkage`` pseudo-responses; it
    matters most on a skill's first opportunity, where BKT only has the population
    prior (``first`` = 1 there). Online it is two numbers per learner
    (:class:`AbilityState`).
    """

    coef_bkt: float = 1.0
    coef_ability: float = 0.0
    coef_ability_first: float = 0.0
    intercept: float = 0.0
    shrinkage: float = 10.0

    def ability(self, state: AbilityState) -> float:
        return state.residual_sum / (state.count + self.shrinkage)

    def adjust(self, p_bkt: float, state: AbilityState, first_on_skill: bool) -> float:
        """P(correct) for one response from BKT's prediction and the learner's state."""
        q = min(max(p_bkt, PROB_MIN), 1.0 - PROB_MIN)
        theta = self.ability(state)
        z = (
            self.coef_bkt * float(np.log(q / (1.0 - q)))
            + (self.coef_ability + self.coef_ability_first * float(first_on_skill))
            * theta
            + self.intercept
        )
        return float(1.0 / (1.0 + np.exp(-z)))

    @staticmethod
    def update(
        state: AbilityState, correct: bool, p_bkt: float, weight: float = 1.0
    ) -> AbilityState:
        """Fold one response in (use BKT's prediction, not the corrected one)."""
        return AbilityState(
            residual_sum=state.residual_sum + weight * (float(correct) - p_bkt),
            count=state.count + weight,
        )

    def features(self, log: ResponseLog, p_bkt: FloatArray) -> FloatArray:
        """Design matrix [logit P_bkt, ability, ability*first], one-step-ahead."""
        n = len(log)
        idx = np.arange(n)
        order = np.lexsort((idx, log.t_days, log.learner))
        learner = log.learner[order]
        w = log.weight[order]
        residual = w * (log.correct[order] - p_bkt[order])
        new_learner = np.ones(n, dtype=bool)
        new_learner[1:] = learner[1:] != learner[:-1]
        # exclusive cumulative sums within each learner: only earlier responses count
        res_cum = np.cumsum(residual) - residual
        cnt_cum = np.cumsum(w) - w
        starts = np.flatnonzero(new_learner)
        group = np.cumsum(new_learner) - 1
        res_before = res_cum - res_cum[starts][group]
        cnt_before = cnt_cum - cnt_cum[starts][group]
        theta_sorted = res_before / (cnt_before + self.shrinkage)
        theta = np.empty(n)
        theta[order] = theta_sorted
        first = _first_on_skill(log)
        return np.column_stack([_logit(p_bkt), theta, theta * first])

    def fit(self, log: ResponseLog, p_bkt: FloatArray) -> AbilityCorrection:
        """Fit the coefficients on training responses (features are one-step-ahead)."""
        x = self.features(log, p_bkt)
        model = LogisticRegression(C=100.0, max_iter=200)
        model.fit(x, log.correct.astype(np.int64), sample_weight=log.weight)
        coef = model.coef_[0]
        return AbilityCorrection(
            coef_bkt=float(coef[0]),
            coef_ability=float(coef[1]),
            coef_ability_first=float(coef[2]),
            intercept=float(model.intercept_[0]),
            shrinkage=self.shrinkage,
        )

    def predict(self, log: ResponseLog, p_bkt: FloatArray) -> FloatArray:
        x = self.features(log, p_bkt)
        z = (
            self.coef_bkt * x[:, 0]
            + self.coef_ability * x[:, 1]
            + self.coef_ability_first * x[:, 2]
            + self.intercept
        )
        return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)

    def to_dict(self) -> dict[str, float]:
        return {
            "coef_bkt": self.coef_bkt,
            "coef_ability": self.coef_ability,
            "coef_ability_first": self.coef_ability_first,
            "intercept": self.intercept,
            "shrinkage": self.shrinkage,
        }


def _first_on_skill(log: ResponseLog) -> FloatArray:
    """1.0 where the response is the learner's first on that skill."""
    n = len(log)
    order = np.lexsort((np.arange(n), log.t_days, log.skill, log.learner))
    learner, skill = log.learner[order], log.skill[order]
    first_sorted = np.ones(n)
    first_sorted[1:] = (
        (learner[1:] != learner[:-1]) | (skill[1:] != skill[:-1])
    ).astype(np.float64)
    out = np.empty(n)
    out[order] = first_sorted
    return out


# --- the full model ---


@dataclass(frozen=True, slots=True)
class LearnerModelFit:
    """BKT per skill plus the ability layer: what the background job produces."""

    bkt: FitResult
    ability: AbilityCorrection
    seconds: float


def fit_model(
    log: ResponseLog,
    *,
    use_ability: bool = True,
    strength: float = 5.0,
    max_iter: int = 200,
    tol: float = 1e-6,
    restarts: int = 0,
    seed: int = 0,
    defaults: BKTParams = DEFAULT_PARAMS,
) -> LearnerModelFit:
    """Fit BKT per skill by EM, then (optionally) the ability layer on its output."""
    started = time.perf_counter()
    bkt = fit_bkt(
        log,
        strength=strength,
        max_iter=max_iter,
        tol=tol,
        restarts=restarts,
        seed=seed,
        defaults=defaults,
    )
    ability = AbilityCorrection()
    if use_ability and len(log) >= 50 and 0.0 < float(log.correct.mean()) < 1.0:
        ability = ability.fit(log, predict_bkt(bkt.params, log))
    return LearnerModelFit(
        bkt=bkt, ability=ability, seconds=time.perf_counter() - started
    )


def predict_one_step(
    model: LearnerModelFit, log: ResponseLog, *, use_ability: bool = True
) -> FloatArray:
    """One-step-ahead P(correct) for every response in ``log`` (in its order).

    Each prediction uses only the same learner's earlier responses: BKT state per
    skill from that skill's history, ability from the history across skills. This
    is how held-out learners are scored.
    """
    p_bkt = predict_bkt(model.bkt.params, log)
    if not use_ability:
        return p_bkt
    return model.ability.predict(log, p_bkt)
