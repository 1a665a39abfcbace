"""Unit: of the role skills ready to work on, the one the model puts lowest comes
first (``MasteryConfig.weakest_of``); the skill under way goes on, and a manager's
skill order is kept."""

from __future__ import annotations

import dataclasses
import datetime as dt

from adaptive.core.engine import Engine
from adaptive.core.engine_learner import Learner
from adaptive.core.learner_types import Observation
from adaptive.core.mastery import MasteryConfig
from tests.engine_support import act, module_catalog

NOW = dt.datetime(2025, 3, 3, 9, tzinfo=dt.UTC)


def _engine(config: MasteryConfig | None = None) -> Engine:
    # Two independent skills at level 1: a lesson and a five-question quiz each.
    acts = [
        act(1, "lesson", 1, 0),
        act(2, "quiz", 1, 5),
        act(3, "lesson", 1, 0, skill=2),
        act(4, "quiz", 1, 5, skill=2),
    ]
    return Engine(module_catalog(acts, n=2), config=config)


def _measured(learner: Learner, skill: int, right: bool, times: int = 4) -> None:
    """Placement-style answers: measured, not taught."""
    for _ in range(times):
        learner.model.observe(
            Observation(skill, 1, 1.0 if right else 0.0, NOW, learn_scale=0.0)
        )


def _skill_of(engine: Engine, learner: Learner) -> int:
    rec = engine.next_step(learner, NOW)
    assert rec.activity_id is not None
    return engine.catalog.activities[rec.activity_id].skills[0].skill_id


def test_the_skill_the_learner_most_likely_lacks_comes_first() -> None:
    engine = _engine()
    learner = engine.start({1: 1, 2: 1})
    _measured(learner, 1, right=True)
    _measured(learner, 2, right=False)
    # Prerequisite order alone would check skill 1 first.
    assert _skill_of(engine, learner) == 2
    prerequisite_order = _engine(MasteryConfig(weakest_of=1))
    learner = prerequisite_order.start({1: 1, 2: 1})
    _measured(learner, 1, right=True)
    _measured(learner, 2, right=False)
    assert _skill_of(prerequisite_order, learner) == 1


def test_the_skill_under_way_goes_on() -> None:
    engine = _engine()
    learner = engine.start({1: 1, 2: 1})
    engine.record_attempt(learner, 1, at=NOW)  # a lesson on skill 1
    _measured(learner, 2, right=False)
    # Skill 2 is now the weaker, but skill 1's pass is finished first: its check.
    rec = engine.next_step(learner, NOW)
    assert rec.activity_id == 2


def test_a_manager_s_skill_order_is_kept() -> None:
    engine = _engine()
    learner = engine.start({1: 1, 2: 1})
    learner.overrides = dataclasses.replace(learner.overrides, skill_order=(1, 2))
    _measured(learner, 1, right=True)
    _measured(learner, 2, right=False)
    assert _skill_of(engine, learner) == 1
