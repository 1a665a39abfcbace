"""Unit: the placement check (most informative question, stopping rules) and the
engine's placement API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from adaptive.core.catalogue import ActivityInfo, Catalog, SkillInfo, SkillLink
from adaptive.core.engine import Engine
from adaptive.core.engine_learner import Learner
from adaptive.core.learner import LearnerModel
from adaptive.core.level_belief import expected_information
from adaptive.core.mastery import KIND_ACTIVITY, MasteryConfig
from adaptive.core.placement import (
    Placement,
    PlacementConfig,
    Probe,
    catalogue_probes,
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


# --- placement through the engine API ---


def placement_catalog(n_skills: int = 6) -> Catalog:
    """A chain of skills (each needs the one before), placement items at levels 1-3,
    a lesson and a quiz per skill and level."""
    skills = [SkillInfo(i, f"s{i}", f"Skill {i}") for i in range(1, n_skills + 1)]
    acts: list[ActivityInfo] = []
    for s in range(1, n_skills + 1):
        for level in (1, 2, 3):
            base = 100 * s + 10 * level
            link = (SkillLink(s, 1.0, level),)
            acts += [
                ActivityInfo(
                    base, f"l{base}", "Lesson", "lesson", skills=link, n_items=0
                ),
                ActivityInfo(
                    base + 1, f"q{base}", "Quiz", "quiz", skills=link, n_items=3
                ),
                ActivityInfo(
                    base + 2,
                    f"p{base}",
                    "Placement",
                    "placement_item",
                    duration_min=1.0,
                    skills=link,
                    n_items=1,
                ),
            ]
    edges = [(s, s - 1) for s in range(2, n_skills + 1)]
    return Catalog.build(skills, acts, edges, module_order=[a.id for a in acts])


def place(
    engine: Engine, learner: Learner, answer: Callable[[Probe], bool]
) -> Placement:
    placement = engine.start_placement(learner)
    for i in range(100):
        step = engine.placement_step(learner, placement, T0 + dt.timedelta(minutes=i))
        if step.choice is None:
            return placement
        probe = step.choice.probe
        engine.answer_placement(
            learner, placement, probe.ref, correct=answer(probe), at=T0
        )
    raise AssertionError("placement never stopped")


TARGETS = dict.fromkeys(range(1, 7), 3)


@pytest.mark.parametrize("knows", [True, False])
def test_clear_cut_learners_are_placed_in_a_few_questions(knows: bool) -> None:
    engine = Engine(placement_catalog())
    learner = engine.start(TARGETS)
    placement = place(engine, learner, lambda probe: knows)
    assert 1 <= len(placement.asked) <= 6
    assert placement.stop_code in {"clear_cut", "confident"}
    estimates = engine.skill_estimates(learner, T0)
    prior = LearnerModel().p_at_least(1, 3, T0)
    if knows:
        assert all(e.p_target > prior for e in estimates)
    else:
        # Below the loop's floor for "check first": teaching starts straight away.
        assert all(e.p_target < MasteryConfig().assess_floor for e in estimates)


def test_placement_covers_the_role_skills_and_only_asks_within_targets() -> None:
    engine = Engine(placement_catalog(), placement=PlacementConfig(budget=8))
    learner = engine.start({1: 2, 3: 2, 5: 2})
    # A learner who knows level 1 of everything and nothing above: never clear-cut.
    placement = place(engine, learner, lambda probe: probe.level == 1)
    asked = [engine.probes.get(ref) for ref in placement.asked]
    assert all(p is not None and p.level <= 2 for p in asked)
    assert {p.skill_id for p in asked if p is not None} == {1, 3, 5}


def test_placement_is_deterministic() -> None:
    def run() -> list[str]:
        engine = Engine(placement_catalog())
        learner = engine.start(TARGETS)
        return place(engine, learner, lambda probe: probe.skill_id % 2 == 0).asked

    assert run() == run()


def test_one_answer_informs_related_skills() -> None:
    engine = Engine(placement_catalog(3))
    right = engine.start({1: 3, 2: 3, 3: 3}, model=LearnerModel(use_ability=False))
    placement = engine.start_placement(right)
    placement.pending = "232:0"  # skill 2, level 3
    engine.answer_placement(right, placement, "232:0", correct=True, at=T0)
    fresh = LearnerModel(use_ability=False)
    # Skill 1 is skill 2's prerequisite: it rises; skill 3 (a dependant) does not.
    assert right.model.p_at_least(1, 3, T0) > fresh.p_at_least(1, 3, T0)
    assert right.model.p_at_least(3, 3, T0) == fresh.p_at_least(3, 3, T0)
    wrong = engine.start({1: 3, 2: 3, 3: 3}, model=LearnerModel(use_ability=False))
    placement = engine.start_placement(wrong)
    placement.pending = "212:0"  # skill 2, level 1
    engine.answer_placement(wrong, placement, "212:0", correct=False, at=T0)
    assert wrong.model.p_at_least(3, 1, T0) < fresh.p_at_least(3, 1, T0)
    assert wrong.model.p_at_least(1, 1, T0) == fresh.p_at_least(1, 1, T0)


def test_placement_answers_are_evidence_not_attempts() -> None:
    engine = Engine(placement_catalog())
    learner = engine.start(TARGETS)
    placement = place(engine, learner, lambda probe: True)
    assert learner.history == []
    asked = [engine.probes.get(ref) for ref in placement.asked]
    assert all(p and learner.model.n_evidence(p.skill_id) > 0 for p in asked)


def test_placement_alone_never_meets_a_target() -> None:
    """A confident placement lets the loop skip teaching, never the check."""
    engine = Engine(placement_catalog())
    learner = engine.start(TARGETS)
    place(engine, learner, lambda probe: True)
    step = engine.next_step(learner, T0)
    assert step.kind == KIND_ACTIVITY and step.activity_id is not None
    assert engine.catalog.activities[step.activity_id].kind == "quiz"
    assert step.reason.code in {"check_known", "prerequisite_first"}


def test_only_the_pending_question_can_be_answered() -> None:
    engine = Engine(placement_catalog())
    learner = engine.start(TARGETS)
    placement = engine.start_placement(learner)
    step = engine.placement_step(learner, placement, T0)
    assert step.choice is not None
    with pytest.raises(ValueError, match="pending"):
        engine.answer_placement(learner, placement, "nope", correct=True, at=T0)


def test_catalogue_probes_are_placement_items_only() -> None:
    probes = catalogue_probes(placement_catalog(2))
    assert len(probes) == 6 and all(p.ref.endswith(":0") for p in probes)
    assert {int(p.ref.split(":")[0]) % 10 for p in probes} == {2}


def test_vectorised_choice_matches_scoring_each_probe() -> None:
    model = LearnerModel()
    for i, correct in enumerate([True, False, True]):
        model.observe(placement_observation(Probe(i + 1, 2, "x"), correct, T0))
    targets = {1: 2, 2: 3, 3: 1}
    choice = choose_probe(model, probes(), targets, T0)
    assert choice is not None
    best = max(
        (
            expected_information(
                model.posterior(p.skill_id, T0),
                targets[p.skill_id],
                model.item_probs(p.skill_id, p.level, p.difficulty),
            )[0]
            for p in probes()
            if p.skill_id in targets and p.level <= targets[p.skill_id]
        ),
    )
    assert choice.expected_gain_bits == pytest.approx(best, abs=1e-9)


def test_a_question_above_the_lowest_level_keeps_placement_going() -> None:
    table = [Probe(1, 1, "1:1"), Probe(1, 2, "1:2"), Probe(2, 1, "2:1")]
    model = LearnerModel()
    step = next_placement_step(
        model,
        table,
        {1: 3, 2: 3},
        T0,
        asked=["1:1", "1:2", "2:1", "1:1", "2:1"],
        answers=[True, False, True, False, True],
    )
    assert step.stop_code != "mixed_at_lowest_level"
    step = next_placement_step(
        model,
        table,
        {1: 3, 2: 3},
        T0,
        asked=["1:1", "2:1", "1:1", "2:1", "1:1"],
        answers=[True, False, True, False, True],
    )
    assert step.stop_code == "mixed_at_lowest_level"
