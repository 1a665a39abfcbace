"""Unit: the placement check (most informative question, stopping rules)."""

from __future__ import annotations

import datetime as dt

from adaptive.core.learner import LearnerModel
from adaptive.core.placement import (
    PlacementConfig,
    Probe,
    choose_probe,
    next_placement_step,
    placement_observation,
)

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def probes() -> list[Probe]:
    return [
        Probe(skill, level, f"{skill}:{level}:{q}")
        for skill in (1, 2, 3)
        for level in (1, 2, 3, 4)
        for q in range(3)
    ]


def test_never_asks_above_the_target_or_outside_the_role() -> None:
    model = LearnerModel()
    choice = choose_probe(model, probes(), {1: 2}, T0)
    assert choice is not None
    assert choice.probe.skill_id == 1 and choice.probe.level <= 2
    assert choice.expected_gain_bits > 0


def test_prefers_the_skill_we_know_least_about() -> None:
    model = LearnerModel(use_ability=False)
    for _ in range(6):
        model.observe(placement_observation(Probe(1, 1, "x"), True, T0))
    choice = choose_probe(model, probes(), {1: 1, 2: 1}, T0)
    assert choice is not None and choice.probe.skill_id == 2


def test_stops_at_the_budget() -> None:
    model = LearnerModel()
    asked: list[str] = []
    config = PlacementConfig(budget=3, confidence=0.999)
    while True:
        step = next_placement_step(
            model, probes(), {1: 2, 2: 2, 3: 2}, T0, asked=asked, config=config
        )
        if step.done:
            break
        assert step.choice is not None
        model.observe(placement_observation(step.choice.probe, True, T0))
        asked.append(step.choice.probe.ref)
    assert len(asked) == 3 and step.stop_code == "budget_reached"
    assert len(set(asked)) == 3


def test_stops_early_when_confident() -> None:
    model = LearnerModel()
    asked: list[str] = []
    config = PlacementConfig(budget=30, confidence=0.9)
    step = next_placement_step(model, probes(), {1: 1}, T0, asked=asked, config=config)
    while not step.done:
        assert step.choice is not None
        model.observe(placement_observation(step.choice.probe, True, T0))
        asked.append(step.choice.probe.ref)
        step = next_placement_step(
            model, probes(), {1: 1}, T0, asked=asked, config=config
        )
    assert step.stop_code == "confident"
    assert len(asked) < 5
    assert model.p_at_least(1, 1, T0) >= 0.9


def test_placement_answers_measure_without_teaching() -> None:
    obs = placement_observation(Probe(4, 2, "r", difficulty=0.5), False, T0)
    assert obs.learn_scale == 0.0 and obs.outcome == 0.0 and obs.level == 2
    assert obs.difficulty == 0.5
