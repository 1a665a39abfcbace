"""Unit tests for the model fit (adaptive.core.fit_*): EM recovery, bounds, exactness and no peeking."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from adaptive.core.fit_ability import (
    AbilityCorrection,
    AbilityState,
    fit_model,
    predict_one_step,
)
from adaptive.core.fit_bkt import fit_bkt, predict_bkt, predict_sequence
from adaptive.core.fit_data import ResponseLog, SkillParamArrays
from adaptive.core.fit_em import _backward, _forward, _layout
from adaptive.core.params import GUESS_MAX, PROB_MIN, SLIP_MAX, BKTParams


def simulate_bkt(
    truth: SkillParamArrays, n_learners: int, n_opps: int, seed: int
) -> ResponseLog:
    """Plain BKT with forgetting: every learner meets every skill ``n_opps`` times."""
    rng = np.random.default_rng(seed)
    n_skills = len(truth)
    learner = np.repeat(np.arange(n_learners), n_skills * n_opps)
    skill = np.tile(np.repeat(np.arange(n_skills), n_opps), n_learners)
    gaps = rng.choice([0.01, 1.0, 7.0], size=learner.shape[0], p=[0.6, 0.3, 0.1])
    seq = learner * n_skills + skill
    pos = np.tile(np.arange(n_opps), n_learners * n_skills)
    gaps[pos == 0] = 0.0
    t_days = np.cumsum(gaps)
    correct = np.zeros(learner.shape[0])
    known = np.zeros(n_learners * n_skills, dtype=bool)
    for k in range(n_opps):
        idx = np.flatnonzero(pos == k)
        s = skill[idx]
        if k == 0:
            known[seq[idx]] = rng.random(idx.shape[0]) < truth.prior[s]
        else:
            keep = (1.0 - truth.forget_per_day[s]) ** gaps[idx]
            known[seq[idx]] &= rng.random(idx.shape[0]) < keep
        p_right = np.where(known[seq[idx]], 1.0 - truth.slip[s], truth.guess[s])
        correct[idx] = rng.random(idx.shape[0]) < p_right
        known[seq[idx]] |= rng.random(idx.shape[0]) < truth.learn[s]
    return ResponseLog.from_arrays(learner, skill, correct, t_days)


TRUTH = SkillParamArrays(
    prior=np.array([0.2, 0.4, 0.1]),
    learn=np.array([0.15, 0.08, 0.25]),
    guess=np.array([0.2, 0.25, 0.15]),
    slip=np.array([0.1, 0.05, 0.15]),
    forget_per_day=np.array([0.03, 0.01, 0.06]),
)


def test_em_recovers_known_parameters() -> None:
    log = simulate_bkt(TRUTH, n_learners=3000, n_opps=12, seed=3)
    result = fit_bkt(log)
    fitted = result.params
    assert result.converged
    for name, tolerance in [
        ("prior", 0.05),
        ("learn", 0.04),
        ("guess", 0.04),
        ("slip", 0.03),
        ("forget_per_day", 0.02),
    ]:
        error = np.abs(getattr(fitted, name) - getattr(TRUTH, name))
        assert error.max() < tolerance, (name, getattr(fitted, name))


def test_em_never_decreases_the_likelihood() -> None:
    log = simulate_bkt(TRUTH, n_learners=200, n_opps=8, seed=5)
    totals = [
        float(fit_bkt(log, strength=0.0, max_iter=k, tol=-np.inf).log_likelihood.sum())
        for k in (2, 4, 8, 16)
    ]
    assert all(b >= a - 1e-6 for a, b in itertools.pairwise(totals))


@pytest.mark.parametrize(
    "pattern", ["all_right", "all_wrong", "alternating", "coin_flips", "one_response"]
)
def test_bounds_hold_on_adversarial_data(pattern: str) -> None:
    rng = np.random.default_rng(0)
    n = 400
    correct = {
        "all_right": np.ones(n),
        "all_wrong": np.zeros(n),
        "alternating": np.arange(n) % 2,
        "coin_flips": rng.random(n) < 0.5,
        "one_response": np.ones(n),
    }[pattern].astype(float)
    learner = np.arange(n) if pattern == "one_response" else np.arange(n) // 20
    log = ResponseLog.from_arrays(
        learner, np.arange(n) % 2, correct, np.arange(n) * 0.7, n_skills=3
    )
    for strength in (0.0, 5.0):
        params = fit_model(log, strength=strength, restarts=2).bkt.params
        for name in ("prior", "learn", "guess", "slip", "forget_per_day"):
            values = getattr(params, name)
            assert np.all(np.isfinite(values))
            assert np.all(values >= PROB_MIN) and np.all(values <= 1 - PROB_MIN)
        assert np.all(params.guess <= GUESS_MAX) and np.all(params.slip <= SLIP_MAX)
        assert np.all(params.forget_per_day <= 0.5)
        # skill 2 has no data: it gets the pooled fit
        pooled = fit_bkt(log, strength=strength).pooled
        for name in ("prior", "learn", "guess", "slip", "forget_per_day"):
            assert getattr(params, name)[2] == pytest.approx(getattr(pooled, name))


def tiny_log() -> ResponseLog:
    # three learners, two skills, sequences of lengths 1..5, mixed gaps and weights
    learner = [0, 0, 0, 0, 0, 1, 1, 1, 2, 0, 0, 2, 2, 2]
    skill = [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
    correct = [0, 1, 1, 0, 1, 1, 1, 0, 0, 1, 0, 0, 1, 1]
    t_days = [0.0, 0.01, 2.0, 9.0, 9.02, 1.0, 1.5, 30.0, 4.0, 3.0, 3.1, 0.5, 0.6, 8.0]
    weight = [1, 1, 0.5, 1, 2, 1, 1, 1, 1, 1, 1, 1, 0.3, 1]
    return ResponseLog.from_arrays(learner, skill, correct, t_days, weight)


TINY_PARAMS = SkillParamArrays.from_params(
    [BKTParams(0.3, 0.2, 0.2, 0.1, 0.05), BKTParams(0.5, 0.1, 0.25, 0.15, 0.2)]
)


def sequences(log: ResponseLog) -> set[tuple[int, int]]:
    return {(int(a), int(b)) for a, b in zip(log.learner, log.skill, strict=True)}


def test_vectorised_forward_equals_the_single_learner_reference() -> None:
    log = tiny_log()
    vectorised = predict_bkt(TINY_PARAMS, log)
    for learner, skill in sequences(log):
        mask = (log.learner == learner) & (log.skill == skill)
        order = np.argsort(log.t_days[mask], kind="stable")
        ref = predict_sequence(
            TINY_PARAMS.params(skill),
            log.correct[mask][order] > 0.5,
            log.t_days[mask][order],
            log.weight[mask][order],
        )
        np.testing.assert_allclose(vectorised[mask][order], ref, rtol=1e-12)


def _brute_force_posteriors(
    p: BKTParams, correct: list[float], gaps: list[float], weights: list[float]
) -> tuple[np.ndarray, float]:
    """Enumerate every hidden path: P(known at t | all responses) and P(responses)."""
    n = len(correct)
    marginal = np.zeros(n)
    total = 0.0
    for path in itertools.product([0, 1], repeat=n):
        prob = p.prior if path[0] else 1 - p.prior
        for t in range(n):
            if t > 0:
                r = (1 - p.forget_per_day) ** gaps[t]
                to_known = r if path[t - 1] else p.learn * r
                prob *= to_known if path[t] else 1 - to_known
            if path[t]:
                e = (1 - p.slip) if correct[t] else p.slip
            else:
                e = p.guess if correct[t] else 1 - p.guess
            prob *= e ** weights[t]
        total += prob
        marginal += prob * np.array(path)
    return marginal / total, total


def test_forward_backward_posteriors_match_brute_force() -> None:
    log = tiny_log()
    lay = _layout(log)
    passes = _forward(lay, lay.skill, lay.first_skill, TINY_PARAMS)
    _, beta1 = _backward(lay, passes)
    gamma1 = np.empty(len(log))
    gamma1[lay.order] = passes.alpha * beta1
    loglik = np.empty(len(log))
    loglik[lay.order] = np.log(passes.scale)
    for learner, skill in sequences(log):
        idx = np.flatnonzero((log.learner == learner) & (log.skill == skill))
        idx = idx[np.argsort(log.t_days[idx], kind="stable")]
        t = log.t_days[idx]
        gaps = [0.0, *np.diff(t).tolist()]
        expected, likelihood = _brute_force_posteriors(
            TINY_PARAMS.params(skill),
            log.correct[idx].tolist(),
            gaps,
            log.weight[idx].tolist(),
        )
        np.testing.assert_allclose(gamma1[idx], expected, rtol=1e-10)
        assert loglik[idx].sum() == pytest.approx(np.log(likelihood), rel=1e-10)


def test_predictions_are_one_step_ahead() -> None:
    log = simulate_bkt(TRUTH, n_learners=60, n_opps=6, seed=9)
    model = fit_model(log)
    base = predict_one_step(model, log)
    # flip the learner's last response: nothing before it may change
    learner0 = np.flatnonzero(log.learner == 0)
    last = learner0[np.argmax(log.t_days[learner0])]
    flipped = log.correct.copy()
    flipped[last] = 1.0 - flipped[last]
    changed_log = ResponseLog.from_arrays(
        log.learner, log.skill, flipped, log.t_days, log.weight
    )
    changed = predict_one_step(model, changed_log)
    # (segment sums run over all learners at once: equal up to rounding)
    np.testing.assert_allclose(changed, base, rtol=0, atol=1e-12)
    # flip the learner's first response: later predictions (other skills too) move
    first = learner0[np.argmin(log.t_days[learner0])]
    flipped = log.correct.copy()
    flipped[first] = 1.0 - flipped[first]
    moved = predict_one_step(
        model,
        ResponseLog.from_arrays(log.learner, log.skill, flipped, log.t_days),
    )
    assert moved[first] == pytest.approx(base[first], abs=1e-12)
    later_other_skill = learner0[
        (log.skill[learner0] != log.skill[first])
        & (log.t_days[learner0] > log.t_days[first])
    ]
    assert np.abs(moved[later_other_skill] - base[later_other_skill]).max() > 1e-4


def test_ability_layer_online_update_matches_the_batch_features() -> None:
    log = simulate_bkt(TRUTH, n_learners=80, n_opps=5, seed=2)
    model = fit_model(log)
    assert model.ability.coef_ability > 0.0
    p_bkt = predict_bkt(model.bkt.params, log)
    batch = model.ability.predict(log, p_bkt)
    for learner in (0, 7):
        idx = np.flatnonzero(log.learner == learner)
        idx = idx[np.argsort(log.t_days[idx], kind="stable")]
        state = AbilityState()
        seen: set[int] = set()
        for i in idx:
            skill = int(log.skill[i])
            online = model.ability.adjust(p_bkt[i], state, skill not in seen)
            assert online == pytest.approx(batch[i], rel=1e-9)
            state = AbilityCorrection.update(state, bool(log.correct[i]), p_bkt[i])
            seen.add(skill)


def test_empty_log_gives_defaults() -> None:
    log = ResponseLog.from_arrays([], [], [], [], n_skills=2)
    result = fit_bkt(log)
    assert result.params.to_list() == [BKTParams().clipped()] * 2
    assert predict_bkt(result.params, log).shape == (0,)


def test_from_arrays_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="same length"):
        ResponseLog.from_arrays([0, 1], [0], [1, 0], [0.0, 1.0])
