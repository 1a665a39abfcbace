"""Unit tests for fitted question parameters in the engine (adaptive.core.fitted_items)."""

from __future__ import annotations

import datetime as dt

import numpy as np

from adaptive.core.catalogue import (
    ActivityInfo,
    Catalog,
    ItemInfo,
    SkillInfo,
    SkillLink,
)
from adaptive.core.engine import Engine
from adaptive.core.fit_items import MIN_GUESS_SLIP_RESPONSES, ItemResponses, fit_items
from adaptive.core.fitted_items import (
    FittedItem,
    fitted_from_fit,
    fitted_item,
    group_parameters,
    with_fitted_items,
)

NOW = dt.datetime(2025, 3, 3, 9, tzinfo=dt.UTC)


def _catalog() -> Catalog:
    acts = [
        ActivityInfo(1, "l", "Lesson", skills=(SkillLink(1, 1.0, 1),), n_items=0),
        ActivityInfo(
            2, "q", "Quiz", kind="quiz", skills=(SkillLink(1, 1.0, 1),), n_items=4
        ),
    ]
    return Catalog.build([SkillInfo(1, "s1", "Skill 1")], acts, [], module_order=[1, 2])


def _p_after_all_right(catalog: Catalog) -> float:
    engine = Engine(catalog)
    learner = engine.start({1: 1})
    engine.record_attempt(learner, 2, at=NOW, responses=[True] * 4)
    return learner.model.p_at_least(1, 1, NOW)


def test_fitted_values_replace_the_authors_in_the_activitys_items() -> None:
    cat = _catalog()
    fitted = with_fitted_items(cat, {(2, 1): FittedItem(1.5), (2, 3): FittedItem(-1.0)})
    items = fitted.activities[2].items
    assert [i.difficulty for i in items] == [0.0, 1.5, 0.0, -1.0]
    assert all(i.skill_id == 1 and i.level == 1 for i in items)
    assert cat.activities[2].items == ()  # the original is left alone
    assert with_fitted_items(cat, {}) is cat


def test_the_observation_model_reads_the_fitted_difficulty() -> None:
    cat = _catalog()
    authored = _p_after_all_right(cat)
    hard = {(2, q): FittedItem(2.0) for q in range(4)}
    easy = {(2, q): FittedItem(-2.0) for q in range(4)}
    # Right answers to questions found hard say more than to questions found easy.
    assert _p_after_all_right(with_fitted_items(cat, hard)) > authored
    assert _p_after_all_right(with_fitted_items(cat, easy)) < authored


def test_a_questions_own_guess_replaces_the_skills() -> None:
    cat = _catalog()
    guessable = {(2, q): FittedItem(0.0, guess=0.45, slip=0.1) for q in range(4)}
    # Right answers to easily guessed questions are weaker evidence.
    assert _p_after_all_right(with_fitted_items(cat, guessable)) < _p_after_all_right(
        cat
    )


def test_guess_and_slip_are_used_only_with_enough_answers() -> None:
    few = fitted_item(0.3, 0.2, 0.05, MIN_GUESS_SLIP_RESPONSES - 1)
    many = fitted_item(0.3, 0.2, 0.05, MIN_GUESS_SLIP_RESPONSES)
    assert (few.guess, few.slip) == (None, None)
    assert (many.guess, many.slip) == (0.2, 0.05)


def test_a_fit_on_answers_becomes_the_catalogues_values() -> None:
    rng = np.random.default_rng(3)
    learners, items, correct = [], [], []
    for learner in range(300):
        for item, p in enumerate((0.9, 0.3)):
            learners.append(learner)
            items.append(item)
            correct.append(float(rng.random() < p))
    fit = fit_items(ItemResponses.from_arrays(learners, items, correct, n_items=2))
    fitted = fitted_from_fit(fit, [(2, 0), (2, 1)])
    assert fitted[(2, 0)].difficulty < fitted[(2, 1)].difficulty


def test_an_evidence_group_is_observed_with_its_questions_mean() -> None:
    groups = group_parameters(
        [ItemInfo(1, 1, 1.0, 0.2, 0.1), ItemInfo(1, 1, 3.0, 0.4, 0.1), ItemInfo(2, 2)]
    )
    assert groups[(1, 1)].difficulty == 2.0
    assert groups[(1, 1)].guess is not None
    assert abs(groups[(1, 1)].guess - 0.3) < 1e-12
    assert groups[(2, 2)] == FittedItem(0.0, None, None)
