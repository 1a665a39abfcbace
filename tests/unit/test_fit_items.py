"""Unit tests for the per-question fit: known parameters come back from generated answers."""

from __future__ import annotations

import numpy as np
import pytest

from adaptive.core.fit_items import (
    GUESS_PRIOR,
    MIN_ITEM_RESPONSES,
    SLIP_PRIOR,
    ItemResponses,
    fit_items,
)
from adaptive.core.params import GUESS_MAX, PROB_MIN, SLIP_MAX


def _answers(
    n_learners: int,
    difficulty: np.ndarray,
    guess: np.ndarray,
    slip: np.ndarray,
    seed: int,
) -> ItemResponses:
    """Every learner answers every question under the fit's own curve."""
    rng = np.random.default_rng(seed)
    ability = rng.normal(0.0, 1.0, n_learners)
    learner, item = (
        a.ravel()
        for a in np.meshgrid(
            np.arange(n_learners), np.arange(difficulty.size), indexing="ij"
        )
    )
    p = guess[item] + (1 - guess[item] - slip[item]) / (
        1 + np.exp(-(ability[learner] - difficulty[item]))
    )
    correct = (rng.random(p.size) < p).astype(float)
    return ItemResponses.from_arrays(learner, item, correct, np.zeros(difficulty.size))


def test_difficulties_come_back_within_a_quarter_logit() -> None:
    rng = np.random.default_rng(11)
    truth = rng.uniform(-1.5, 1.5, 20)
    data = _answers(
        300, truth, np.full(20, GUESS_PRIOR), np.full(20, SLIP_PRIOR), seed=12
    )
    fit = fit_items(data)
    assert fit.converged
    assert fit.enough.all()
    error = np.abs(fit.difficulty - truth)
    assert error.mean() < 0.25
    assert error.max() < 0.6
    assert np.corrcoef(fit.difficulty, truth)[0, 1] > 0.95
    # Below the guess/slip threshold the defaults stand.
    assert np.all(fit.guess == GUESS_PRIOR) and np.all(fit.slip == SLIP_PRIOR)


def test_guess_and_slip_come_back_once_a_question_has_many_answers() -> None:
    rng = np.random.default_rng(21)
    difficulty = rng.uniform(-1.0, 1.0, 8)
    guess = rng.uniform(0.05, 0.25, 8)
    slip = rng.uniform(0.03, 0.2, 8)
    fit = fit_items(_answers(3000, difficulty, guess, slip, seed=22))
    assert np.abs(fit.guess - guess).mean() < 0.06
    assert np.abs(fit.slip - slip).mean() < 0.06
    assert np.abs(fit.difficulty - difficulty).mean() < 0.3
    assert np.all((fit.guess >= PROB_MIN) & (fit.guess <= GUESS_MAX))
    assert np.all((fit.slip >= PROB_MIN) & (fit.slip <= SLIP_MAX))


def test_a_question_with_too_few_answers_keeps_the_author_s_difficulty() -> None:
    few = MIN_ITEM_RESPONSES - 1
    learner = np.arange(few + 200)
    item = np.r_[np.zeros(few, dtype=int), np.ones(200, dtype=int)]
    correct = np.ones(learner.size)
    data = ItemResponses.from_arrays(learner, item, correct, [1.25, 1.25])
    fit = fit_items(data)
    assert fit.enough.tolist() == [False, True]
    assert fit.difficulty[0] == 1.25
    # Everyone right: the question is easier than its author thought.
    assert fit.difficulty[1] < 1.25
    assert fit.n_responses.tolist() == [few, 200]


def test_no_answers_fit_nothing() -> None:
    fit = fit_items(ItemResponses.from_arrays([], [], [], [0.5], n_items=1))
    assert fit.converged and not fit.enough.any()
    assert fit.difficulty.tolist() == [0.5]


def test_arrays_must_line_up() -> None:
    with pytest.raises(ValueError, match="same length"):
        ItemResponses.from_arrays([0, 1], [0], [1, 0])
    with pytest.raises(ValueError, match="one prior difficulty per item"):
        ItemResponses.from_arrays([0], [1], [1], [0.0])
