"""Unit: the learner model (hand-computed BKT steps, levels, forgetting, ability)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from adaptive.core.learner import LearnerModel
from adaptive.core.learner_types import Observation, ParamSet, SkillState
from adaptive.core.params import BKTParams

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
PARAMS = ParamSet(
    default=BKTParams(prior=0.2, learn=0.15, guess=0.2, slip=0.1, forget_per_day=0.01)
)


def binary_model() -> LearnerModel:
    return LearnerModel(n_levels=2, params=PARAMS, use_ability=False)


def test_correct_answer_matches_classic_bkt_by_hand() -> None:
    model = binary_model()
    result = model.observe(Observation(skill_id=1, level=1, outcome=1.0, at=T0))
    # Bayes: 0.2*0.9 / (0.2*0.9 + 0.8*0.2) = 0.529412; learn: + (1-0.529412)*0.15
    assert result.p_before == pytest.approx(0.2)
    assert result.predicted_correct == pytest.approx(0.2 * 0.9 + 0.8 * 0.2)
    assert result.p_after == pytest.approx(0.529412 + 0.470588 * 0.15, abs=1e-5)


def test_wrong_answer_matches_classic_bkt_by_hand() -> None:
    model = binary_model()
    result = model.observe(Observation(skill_id=1, level=1, outcome=0.0, at=T0))
    posterior = 0.2 * 0.1 / (0.2 * 0.1 + 0.8 * 0.8)
    assert result.p_after == pytest.approx(posterior + (1 - posterior) * 0.15)


def test_forgetting_decays_known_mass_per_day() -> None:
    model = binary_model()
    model.observe(Observation(skill_id=1, level=1, outcome=1.0, at=T0, learn_scale=0.0))
    p0 = model.p_at_least(1, 1, T0)
    assert model.p_at_least(1, 1, T0 + dt.timedelta(days=10)) == pytest.approx(
        p0 * 0.99**10
    )


def test_weight_tempers_the_likelihood() -> None:
    once, twice = binary_model(), binary_model()
    twice.observe(Observation(1, 1, 1.0, T0, weight=2.0, learn_scale=0.0))
    once.observe(Observation(1, 1, 1.0, T0, learn_scale=0.0))
    once.observe(Observation(1, 1, 1.0, T0, learn_scale=0.0))
    assert twice.p_at_least(1, 1, T0) == pytest.approx(once.p_at_least(1, 1, T0))
    half = binary_model()
    half.observe(Observation(1, 1, 1.0, T0, weight=0.5, learn_scale=0.0))
    assert 0.2 < half.p_at_least(1, 1, T0) < twice.p_at_least(1, 1, T0)


def test_levels_evidence_at_a_level_informs_that_level() -> None:
    model = LearnerModel(params=PARAMS, use_ability=False)
    prior = model.prior(7)
    assert prior.sum() == pytest.approx(1.0)
    assert model.p_at_least(7, 1, T0) == pytest.approx(0.2)
    for _ in range(3):
        model.observe(Observation(7, 3, 1.0, T0, learn_scale=0.0))
    est = model.estimate(7, 3, T0)
    assert est.p_target > 0.7 and est.level >= 3
    assert est.n_evidence == 3 and len(est.level_probs) == 6
    assert est.uncertainty > 0


def test_difficulty_makes_a_correct_answer_more_telling() -> None:
    easy, hard = binary_model(), binary_model()
    easy.observe(Observation(1, 1, 1.0, T0, difficulty=-2.0, learn_scale=0.0))
    hard.observe(Observation(1, 1, 1.0, T0, difficulty=2.0, learn_scale=0.0))
    assert hard.p_at_least(1, 1, T0) > easy.p_at_least(1, 1, T0)


def test_ability_lifts_priors_of_unseen_skills() -> None:
    model = LearnerModel(params=PARAMS)
    for skill in range(1, 5):
        model.observe(Observation(skill, 1, 1.0, T0, learn_scale=0.0))
    assert model.ability > 0
    assert model.p_at_least(99, 1, T0) > 0.2
    ablated = LearnerModel(params=PARAMS, use_ability=False)
    for skill in range(1, 5):
        ablated.observe(Observation(skill, 1, 1.0, T0, learn_scale=0.0))
    assert ablated.p_at_least(99, 1, T0) == pytest.approx(0.2)


def test_state_round_trips_through_a_dict() -> None:
    model = LearnerModel(params=PARAMS)
    model.observe(Observation(3, 2, 0.75, T0, weight=4))
    copy = LearnerModel.from_dict(model.to_dict(), PARAMS)
    assert copy.ability == model.ability
    assert np.allclose(copy.posterior(3, T0), model.posterior(3, T0))
    state = SkillState.from_dict(model.states[3].to_dict())
    assert state.n_evidence == 1 and state.updated_at == T0


def test_invalid_evidence_is_rejected() -> None:
    model = binary_model()
    with pytest.raises(ValueError, match="level"):
        model.observe(Observation(1, 2, 1.0, T0))
    with pytest.raises(ValueError, match="outcome"):
        model.observe(Observation(1, 1, 1.5, T0))


def test_batch_reads_match_one_skill_reads_with_fitted_and_default_skills() -> None:
    fitted = BKTParams(prior=0.5, learn=0.3, guess=0.1, slip=0.05, forget_per_day=0.05)
    per_level = BKTParams(
        prior=0.4, learn=0.2, guess=0.25, slip=0.2, forget_per_day=0.1
    )
    params = ParamSet(per_skill={2: fitted}, per_level={(3, 2): per_level})
    model = LearnerModel(params=params, ability=0.7)
    for skill in (1, 2, 3):
        model.observe(Observation(skill, 2, 1.0, T0, weight=2.0))
    skills = [1, 2, 3, 4, 5]  # 4 and 5 have no evidence; 5 is not fitted either
    now = T0 + dt.timedelta(days=9)
    batch = model.posteriors(skills, now)
    for row, skill in zip(batch, skills, strict=True):
        assert row == pytest.approx(model.posterior(skill, now), abs=1e-12)
    guess, slip, learn = model.level_params(skills)
    for i, skill in enumerate(skills):
        c = model.const(skill)
        assert guess[i].tolist() == pytest.approx(c.guess)
        assert slip[i].tolist() == pytest.approx(c.slip)
        assert learn[i].tolist() == pytest.approx(c.learn)
    assert guess[2, 2] == pytest.approx(0.25) and guess[1, 1] == pytest.approx(0.1)
