"""Pure: the level-belief maths of the learner model, one skill's posterior as a vector.

Evidence, learning and forgetting on a posterior over the framework's levels (see
``adaptive.core.learner`` for the model that keeps one per skill); placement and the
policy use the same operations.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from scipy.linalg import expm

from adaptive.core.params import PROB_MIN

Vector = npt.NDArray[np.float64]

# Logit units of guess/slip shift per unit of activity difficulty.
DIFFICULTY_SCALE = 0.5


def logit(p: float) -> float:
    """Log-odds of ``p``, clipped away from 0 and 1."""
    p = min(max(p, PROB_MIN), 1.0 - PROB_MIN)
    return math.log(p / (1.0 - p))


def sigmoid(x: float) -> float:
    """The inverse of :func:`logit`."""
    return 1.0 / (1.0 + math.exp(-x))


# --- vector operations shared by the model, placement and policy ---


def p_correct_by_state(n_levels: int, level: int, guess: float, slip: float) -> Vector:
    """P(correct | true state) for a question at ``level``."""
    out = np.full(n_levels, guess, dtype=np.float64)
    out[level:] = 1.0 - slip
    return out


def adjust_for_difficulty(
    guess: float, slip: float, difficulty: float
) -> tuple[float, float]:
    """Harder items are guessed less and slipped on more."""
    if difficulty == 0.0:
        return guess, slip
    shift = DIFFICULTY_SCALE * difficulty
    return sigmoid(logit(guess) - shift), sigmoid(logit(slip) + shift)


def bayes_update(probs: Vector, pc: Vector, outcome: float, weight: float) -> Vector:
    """Posterior after a (tempered) observation: likelihood ** weight, outcome in [0, 1]."""
    like = pc ** (weight * outcome) * (1.0 - pc) ** (weight * (1.0 - outcome))
    post = probs * like
    total = float(post.sum())
    if total <= 0.0:
        return probs.copy()
    return np.asarray(post / total, dtype=np.float64)


def learn_step(
    probs: Vector, level: int, learn: float, lowest: int | None = None
) -> Vector:
    """An opportunity at ``level`` lifts learners below it with P(learn).

    By default only the level just below moves up. ``lowest`` widens that band to
    every level from ``lowest`` to ``level - 1``: when a skill has no content at the
    levels in between, teaching at ``level`` is what crosses them (a level gap must
    not trap the belief below it).
    """
    out = probs.copy()
    start = level - 1 if lowest is None else min(max(lowest, 0), level - 1)
    moved = out[start:level] * learn
    out[start:level] -= moved
    out[level] += float(moved.sum())
    return out


def entropy(probs: Vector) -> float:
    p = probs[probs > 1e-12]
    return float(-(p * np.log2(p)).sum())


def truncate(probs: Vector, target: int) -> Vector:
    """Lump every level at or above the target: above the role's need is all the same."""
    out = probs[: target + 1].copy()
    out[target] = float(probs[target:].sum())
    return out


def expected_information(
    probs: Vector, target: int, pc: Vector, n_items: int = 1
) -> tuple[float, float]:
    """Expected entropy reduction (bits) of the truncated level posterior from ``n_items``
    independent answers, and P(a single answer is correct).

    Outcomes are binomial counts (answers to one activity's questions are exchangeable).
    """
    p1 = float(probs @ pc)
    if n_items <= 0:
        return 0.0, p1
    h0 = entropy(truncate(probs, target))
    expected = 0.0
    for k in range(n_items + 1):
        like = math.comb(n_items, k) * pc**k * (1.0 - pc) ** (n_items - k)
        joint = probs * like
        pk = float(joint.sum())
        if pk > 1e-12:
            expected += pk * entropy(truncate(joint / pk, target))
    return max(h0 - expected, 0.0), p1


@lru_cache(maxsize=4096)
def _forget_matrix(rates: tuple[float, ...], days: float) -> Vector:
    n = len(rates)
    q = np.zeros((n, n), dtype=np.float64)
    for level in range(1, n):
        q[level, level] = -rates[level]
        q[level, level - 1] = rates[level]
    return np.asarray(expm(q * days), dtype=np.float64)


def _forget_equal_rates(probs: Vector, rate: float, days: float) -> Vector:
    """Closed form when every level decays at one rate: Poisson drops, floored at 0."""
    mu = rate * days
    n = len(probs)
    pois = [math.exp(-mu)]
    for j in range(1, n):
        pois.append(pois[-1] * mu / j)
    out = [0.0] * n
    for level in range(n):
        mass = float(probs[level])
        if mass == 0.0:
            continue
        kept = 0.0
        for j in range(level):
            out[level - j] += mass * pois[j]
            kept += pois[j]
        out[0] += mass * (1.0 - kept)
    return np.asarray(out, dtype=np.float64)


def forget(probs: Vector, rates: tuple[float, ...], days: float) -> Vector:
    """Decay over ``days``: the row vector times exp(Q t) of the level-drop chain."""
    if days <= 0.0 or not any(rates):
        return probs
    first = rates[1]
    if all(r == first for r in rates[1:]):
        return _forget_equal_rates(probs, first, days)
    # Round to about a minute so the matrix cache hits for repeated gaps.
    out = probs @ _forget_matrix(rates, round(days, 3))
    return np.asarray(out / out.sum(), dtype=np.float64)


def p_at_least(probs: Vector, level: int) -> float:
    if level <= 0:
        return 1.0
    return float(probs[level:].sum())
