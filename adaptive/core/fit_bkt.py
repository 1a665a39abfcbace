"""Pure: fit BKT-with-forgetting per skill (``fit_bkt``) and predict with it.

The EM itself is in ``fit_em``; this module holds the public fit, the one-step-ahead
prediction and the plain-Python single-learner reference the vectorised passes
must agree with.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from adaptive.core.fit_data import FloatArray, IntArray, ResponseLog, SkillParamArrays
from adaptive.core.fit_em import _em, _forward, _layout
from adaptive.core.params import (
    DEFAULT_PARAMS,
    GUESS_MAX,
    SLIP_MAX,
    BKTParams,
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
