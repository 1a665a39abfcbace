"""Pure: per-question difficulty, guess and slip fitted from an organisation's answers.

Model (a Rasch curve with a floor and a ceiling, one ability per learner and skill)::

    P(correct) = guess_i + (1 - guess_i - slip_i) * sigmoid(ability_l - difficulty_i)

``guess`` is the share of right answers from someone far below the question,
``slip`` the share of wrong ones from someone far above: the per-question
equivalents of BKT's guess and slip, with ``difficulty`` in the same logit units
as the catalogue's (0 = typical for the activity's level, once centred per level).

The fit is marginal maximum a posteriori by EM, vectorised over all responses
(each iteration is a few ``bincount`` calls): abilities are integrated over a
standard normal, difficulties have a normal prior at the author's value, guess and
slip normal priors at the engine's defaults, inside the ``BKTParams`` bounds. A
question's values are *used* only once it has ``MIN_ITEM_RESPONSES`` answers; below
that its prior (the author's difficulty, the default guess and slip) stands.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from adaptive.core.fit_data import FloatArray, IntArray
from adaptive.core.params import GUESS_MAX, PROB_MIN, SLIP_MAX

#: Answers a question needs before its fitted values replace the author's. The
#: standard error of a Rasch difficulty is about 1 / sqrt(n p (1 - p)), so 2/sqrt(n)
#: logits at p = 0.5: 50 answers give about 0.3 logit, a tenth of the catalogue's
#: difficulty range (-3..3) and below what an author can judge by eye.
MIN_ITEM_RESPONSES = 50
#: Answers a question needs before its own guess and slip are fitted (below, the
#: defaults stand). With one fixed slope they trade off against the difficulty and
#: are weakly identified: on generated answers their mean error was 0.03-0.04 at
#: 1,000-4,000 answers against about 0.05 for the defaults. A judgement call, kept
#: high on purpose.
MIN_GUESS_SLIP_RESPONSES = 1000
GUESS_PRIOR = 0.15
SLIP_PRIOR = 0.1
_PROB_SD = 0.1  # prior sd of guess and slip: most of their allowed range
# Largest move per sweep (logits; probabilities): scoring far from the optimum overshoots.
_MAX_STEP = 1.0
_MAX_PROB_STEP = 0.05
_GRID = 21  # ability grid points (-4..4 sd)
_M_STEPS = 3  # Fisher-scoring steps per EM iteration


@dataclass(frozen=True, slots=True)
class ItemResponses:
    """Answers as parallel arrays: who (learner index), which question, right or not.

    ``prior_difficulty`` is the author's difficulty per question (0 when none).
    """

    learner: IntArray
    item: IntArray
    correct: FloatArray
    prior_difficulty: FloatArray

    @classmethod
    def from_arrays(
        cls,
        learner: ArrayLike,
        item: ArrayLike,
        correct: ArrayLike,
        prior_difficulty: ArrayLike | None = None,
        n_items: int | None = None,
    ) -> ItemResponses:
        """Validate the arrays (outcomes >= 0.5 count as right)."""
        learner_a = np.asarray(learner, dtype=np.int64)
        item_a = np.asarray(item, dtype=np.int64)
        correct_a = (np.asarray(correct, dtype=np.float64) >= 0.5).astype(np.float64)
        if not learner_a.shape == item_a.shape == correct_a.shape:
            raise ValueError("response arrays must have the same length")
        if learner_a.size and (learner_a.min() < 0 or item_a.min() < 0):
            raise ValueError("learner and item indices must be non-negative")
        count = max(int(item_a.max()) + 1 if item_a.size else 0, n_items or 0)
        prior = (
            np.zeros(count)
            if prior_difficulty is None
            else np.asarray(prior_difficulty, dtype=np.float64)
        )
        if prior.shape != (count,):
            raise ValueError("one prior difficulty per item")
        return cls(learner_a, item_a, correct_a, prior)

    @property
    def n_items(self) -> int:
        return int(self.prior_difficulty.shape[0])

    @property
    def n_learners(self) -> int:
        return int(self.learner.max()) + 1 if self.learner.size else 0


@dataclass(frozen=True, slots=True)
class ItemFit:
    """Per question: fitted values, answer counts, and whether they are to be used."""

    difficulty: FloatArray
    guess: FloatArray
    slip: FloatArray
    n_responses: IntArray
    enough: NDArray[np.bool_]
    ability: FloatArray  # per learner
    iterations: int
    converged: bool


def predict_items(fit: ItemFit, learner: IntArray, item: IntArray) -> FloatArray:
    """P(correct) of each (learner, question) pair under a fit."""
    g, s = fit.guess[item], fit.slip[item]
    z = fit.ability[learner] - fit.difficulty[item]
    return np.asarray(g + (1.0 - g - s) / (1.0 + np.exp(-z)), dtype=np.float64)


def fit_items(
    data: ItemResponses,
    *,
    min_responses: int = MIN_ITEM_RESPONSES,
    min_guess_slip: int = MIN_GUESS_SLIP_RESPONSES,
    difficulty_sd: float = 1.0,
    max_iter: int = 200,
    tol: float = 1e-4,
) -> ItemFit:
    """Fit difficulty, guess and slip per question, abilities integrated out.

    Marginal maximum likelihood by EM (Bock-Aitkin): abilities are a standard
    normal on a fixed grid, the E-step gives each learner's posterior over the grid,
    the M-step is a few Fisher-scoring steps per question on the expected counts.
    Integrating abilities out (rather than estimating one per learner) keeps the
    difficulties unbiased when each learner answers only a few questions.

    Args:
        min_responses: answers a question needs for ``enough`` (see the constant).
        min_guess_slip: answers a question needs for its own guess and slip.
        difficulty_sd: prior sd around the author's difficulty, in logits.
        tol: stop when no question's values move more than this in an iteration.

    Returns:
        An :class:`ItemFit`; guess and slip are always within the ``BKTParams``
        bounds, and questions without ``enough`` answers keep their prior values.
    """
    n_items, n_learners = data.n_items, data.n_learners
    learner, item, y = data.learner, data.item, data.correct
    grid = np.linspace(-4.0, 4.0, _GRID)
    log_prior = -0.5 * grid**2
    b = data.prior_difficulty.copy()
    g = np.full(n_items, GUESS_PRIOR)
    s = np.full(n_items, SLIP_PRIOR)
    post = np.full((n_learners, _GRID), 1.0 / _GRID)
    counts = np.bincount(item, minlength=n_items).astype(np.int64)
    own_guess_slip = counts >= min_guess_slip
    iterations, converged = 0, y.size == 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 - reported after the loop
        if y.size == 0:
            break
        post = _posterior(learner, item, y, grid, log_prior, b, g, s, n_learners)
        # Expected answers (n) and right answers (r) per question and grid point.
        w = post[learner]
        n_iq = _sum_per(item, w, n_items)
        r_iq = _sum_per(item, w * y[:, None], n_items)
        before = np.concatenate([b, g, s])
        for _ in range(_M_STEPS):
            b, g, s = _m_step(
                n_iq, r_iq, grid, b, g, s, data.prior_difficulty, difficulty_sd
            )
            g = np.where(own_guess_slip, g, GUESS_PRIOR)
            s = np.where(own_guess_slip, s, SLIP_PRIOR)
        if float(np.max(np.abs(np.concatenate([b, g, s]) - before))) < tol:
            converged = True
            break
    enough = counts >= min_responses
    return ItemFit(
        difficulty=np.where(enough, b, data.prior_difficulty),
        guess=np.where(enough, g, GUESS_PRIOR),
        slip=np.where(enough, s, SLIP_PRIOR),
        n_responses=counts,
        enough=enough,
        ability=post @ grid,
        iterations=iterations,
        converged=converged,
    )


def _sum_per(group: IntArray, values: FloatArray, n_groups: int) -> FloatArray:
    """Column-wise sums of ``values`` (rows = responses) per group index."""
    return np.stack(
        [
            np.bincount(group, weights=values[:, q], minlength=n_groups).astype(
                np.float64
            )
            for q in range(values.shape[1])
        ],
        axis=1,
    )


def _curve(
    grid: FloatArray, b: FloatArray, g: FloatArray, s: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """P(correct) and the sigmoid, per question (rows) and grid point (columns)."""
    sig = 1.0 / (1.0 + np.exp(-(grid[None, :] - b[:, None])))
    p = g[:, None] + (1.0 - g - s)[:, None] * sig
    return np.clip(p, PROB_MIN, 1.0 - PROB_MIN), sig


def _posterior(
    learner: IntArray,
    item: IntArray,
    y: FloatArray,
    grid: FloatArray,
    log_prior: FloatArray,
    b: FloatArray,
    g: FloatArray,
    s: FloatArray,
    n_learners: int,
) -> FloatArray:
    """Each learner's posterior over the ability grid, given all their answers."""
    p, _ = _curve(grid, b, g, s)
    log_p = np.where(y[:, None] > 0.5, np.log(p[item]), np.log1p(-p[item]))
    loglik = _sum_per(learner, log_p, n_learners) + log_prior[None, :]
    loglik -= loglik.max(axis=1, keepdims=True)
    weights = np.exp(loglik)
    return np.asarray(weights / weights.sum(axis=1, keepdims=True), dtype=np.float64)


def _m_step(
    n_iq: FloatArray,
    r_iq: FloatArray,
    grid: FloatArray,
    b: FloatArray,
    g: FloatArray,
    s: FloatArray,
    prior_b: FloatArray,
    sd_b: float,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """One Fisher-scoring step on each of difficulty, guess and slip, per question."""
    for name in ("b", "g", "s"):
        p, sig = _curve(grid, b, g, s)
        resid = (r_iq - n_iq * p) / (p * (1.0 - p))
        info_w = n_iq / (p * (1.0 - p))
        if name == "b":
            dp = -(1.0 - g - s)[:, None] * sig * (1.0 - sig)
            b = b + _step(resid, info_w, dp, b, prior_b, sd_b, _MAX_STEP)
        elif name == "g":
            g = np.clip(
                g
                + _step(
                    resid, info_w, 1.0 - sig, g, GUESS_PRIOR, _PROB_SD, _MAX_PROB_STEP
                ),
                PROB_MIN,
                GUESS_MAX,
            )
        else:
            s = np.clip(
                s + _step(resid, info_w, -sig, s, SLIP_PRIOR, _PROB_SD, _MAX_PROB_STEP),
                PROB_MIN,
                SLIP_MAX,
            )
    return b, g, s


def _step(
    resid: FloatArray,
    info_w: FloatArray,
    dp: FloatArray,
    value: FloatArray,
    prior_mean: FloatArray | float,
    prior_sd: float,
    cap: float,
) -> FloatArray:
    """A Fisher-scoring step per question with a normal prior, capped in size."""
    precision = 1.0 / prior_sd**2
    score = (resid * dp).sum(axis=1) - precision * (value - prior_mean)
    info = (info_w * dp * dp).sum(axis=1) + precision
    return np.asarray(np.clip(score / info, -cap, cap), dtype=np.float64)
