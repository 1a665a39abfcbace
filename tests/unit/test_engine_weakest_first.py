"""Unit: of the role skills ready to work on, the one the model puts lowest comes
first (``MasteryConfig.weakest_of``); the skill under way goes on, and a manager's
skill order is kept."""

from __future__ import annotations

import dataclasses
import datetime as dt

from adaptive.core.catalogue import Catalog, SkillInfo
from adaptive.core.decisions import Overrides
from adaptive.core.engine import Engine
from adaptive.core.engine_learner import Learner
from adaptive.core.learner_types import Observation
from adaptive.core.mastery import MasteryConfig
from adaptive.core.mastery_work import build_work_list
from tests.engine_support import lesson_and_quiz, module_catalog

NOW = dt.datetime(2025, 3, 3, 9, tzinfo=dt.UTC)


def _engine(config: MasteryConfig | None = None) -> Engine:
    # Two independent skills at level 1: a lesson and a five-question quiz each.
    return Engine(module_catalog(lesson_and_quiz(range(1, 3)), n=2), config=config)


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
    # The manager puts skill 2 first although the learner is weaker on skill 1.
    learner.overrides = dataclasses.replace(learner.overrides, skill_order=(2, 1))
    _measured(learner, 1, right=False)
    _measured(learner, 2, right=True)
    assert _skill_of(engine, learner) == 2


def test_a_foundation_further_on_does_not_go_ahead_of_a_ready_skill() -> None:
    # Skill 1 (role) is ready; skill 3 (role) rests on skill 2, outside the role.
    acts = lesson_and_quiz(range(1, 4))
    skills = [SkillInfo(i, f"s{i}", f"Skill {i}") for i in (1, 2, 3)]
    engine = Engine(
        Catalog.build(skills, acts, [(3, 2)], module_order=[1, 2, 3, 4, 5, 6])
    )
    learner = engine.start({1: 1, 3: 1})
    _measured(learner, 1, right=False)
    _measured(learner, 3, right=False)
    # Both role skills look equally weak: the ready one (skill 1) comes first, not
    # skill 3's foundation.
    assert _skill_of(engine, learner) == 1


def test_only_the_first_ready_skills_are_compared_but_the_one_under_way_goes_on() -> (
    None
):
    # Eight independent skills; the weakest of all is the eighth.
    engine = Engine(module_catalog(lesson_and_quiz(range(1, 9)), n=8))
    learner = engine.start(dict.fromkeys(range(1, 9), 1))
    for skill in range(1, 8):
        _measured(learner, skill, right=True, times=2)
    _measured(learner, 8, right=False)
    # The eighth is beyond the six compared: the weakest of those six (all alike:
    # the first) comes first.
    assert _skill_of(engine, learner) == 1
    # Once skill 8 is under way (its lesson taken), it goes on.
    engine.record_attempt(learner, 15, at=NOW)
    assert _skill_of(engine, learner) == 8


def test_a_manager_s_order_puts_a_skill_and_its_prerequisites_first() -> None:
    acts = lesson_and_quiz(range(1, 4))
    skills = [SkillInfo(i, f"s{i}", f"Skill {i}") for i in (1, 2, 3)]
    catalog = Catalog.build(skills, acts, [(3, 1)], module_order=[a.id for a in acts])
    order = Overrides(skill_order=(3, 2))
    # Skill 3 rests on skill 1: 1, then 3, then 2 (catalogue order was 1, 2, 3).
    assert [
        w.skill_id for w in build_work_list(catalog, {1: 1, 2: 1, 3: 1}, order)
    ] == [1, 3, 2]
