"""Unit: a check round that starts well waits until the skills the learner lacks are
taught (``MasteryConfig.defer_llr``, the ``check_later`` step)."""

from __future__ import annotations

import datetime as dt

from adaptive.core.catalogue import Catalog
from adaptive.core.engine import Engine
from adaptive.core.engine_learner import Learner
from adaptive.core.mastery import KIND_DONE
from adaptive.core.mastery_reasons import learner_reason
from adaptive.core.mastery_steps import Plan, last_check
from adaptive.core.mastery_work import SkillWork
from tests.engine_support import act, module_catalog

NOW = dt.datetime(2025, 3, 3, 9, tzinfo=dt.UTC)


def _two_skills() -> Catalog:
    # Two independent skills at level 1: a lesson (1, 3) and a quiz (2: four
    # questions, 4: five questions) each.
    acts = [
        act(1, "lesson", 1, 0),
        act(2, "quiz", 1, 4),
        act(3, "lesson", 1, 0, skill=2),
        act(4, "quiz", 1, 5, skill=2),
    ]
    return module_catalog(acts, n=2)


def _step(engine: Engine, learner: Learner, at: dt.datetime) -> tuple[int | None, str]:
    rec = engine.next_step(learner, at)
    return rec.activity_id, rec.reason.code


def test_a_good_start_waits_while_another_skill_needs_teaching() -> None:
    engine = Engine(_two_skills())
    learner = engine.start({1: 1, 2: 1})
    assert _step(engine, learner, NOW) == (2, "check_known")
    engine.record_attempt(learner, 2, at=NOW, responses=[True] * 4)
    # Four of four: the rest of skill 1's test waits; skill 2 is checked first.
    assert _step(engine, learner, NOW)[0] == 4
    engine.record_attempt(learner, 4, at=NOW, responses=[False] * 5)
    # Skill 2 failed: it is taught before skill 1's check goes on.
    assert _step(engine, learner, NOW) == (3, "remediate_alternative")
    engine.record_attempt(learner, 3, at=NOW)
    assert _step(engine, learner, NOW) == (4, "check_mastery")
    engine.record_attempt(learner, 4, at=NOW, responses=[True] * 5)
    # Skill 2 is still under way (five right: a good start of its own), so its test
    # goes on before skill 1's, then skill 1's waiting rest is taken.
    assert _step(engine, learner, NOW) == (4, "check_later")
    engine.record_attempt(learner, 4, at=NOW, responses=[True] * 5)
    assert _step(engine, learner, NOW) == (2, "check_later")
    engine.record_attempt(learner, 2, at=NOW, responses=[True] * 4)
    engine.record_attempt(learner, 2, at=NOW, responses=[True] * 4)
    assert engine.next_step(learner, NOW).kind == KIND_DONE


def test_a_weak_start_goes_on_at_once() -> None:
    engine = Engine(_two_skills())
    learner = engine.start({1: 1, 2: 1})
    engine.record_attempt(learner, 2, at=NOW, responses=[True, True, True, False])
    # Three of four is not a good enough start to wait: the test goes on now.
    assert _step(engine, learner, NOW) == (2, "check_mastery")


def test_a_round_after_its_top_up_keeps_its_answers_and_may_wait() -> None:
    # Nine right of twelve, undecided: one top-up, then the same test goes on with
    # its answers kept; they still favour "at target", so skill 2 is checked first.
    engine = Engine(_two_skills())
    learner = engine.start({1: 1, 2: 1})
    for answers in ([True] * 4, [True, True, True, False], [True, True, False, False]):
        engine.record_attempt(learner, 2, at=NOW, responses=answers)
    assert _step(engine, learner, NOW) == (1, "check_top_up")
    engine.record_attempt(learner, 1, at=NOW)
    assert _step(engine, learner, NOW) == (4, "check_known")
    engine.record_attempt(learner, 4, at=NOW, responses=[True] * 5)
    engine.record_attempt(learner, 4, at=NOW, responses=[True] * 5)
    # Skill 2 passed; skill 1's round goes on where it was, its answers kept.
    assert _step(engine, learner, NOW) == (2, "check_later")
    engine.record_attempt(learner, 2, at=NOW, responses=[True] * 4)
    assert _step(engine, learner, NOW) == (2, "check_later")
    engine.record_attempt(learner, 2, at=NOW, responses=[True] * 4)
    assert engine.next_step(learner, NOW).kind == KIND_DONE


def test_the_waiting_check_under_way_is_finished_before_another() -> None:
    engine = Engine(_two_skills())
    learner = engine.start({1: 1, 2: 1})
    engine.record_attempt(learner, 2, at=NOW, responses=[True] * 4)
    engine.record_attempt(learner, 4, at=NOW, responses=[True] * 5)
    # Both wait and nothing is left to learn: skill 2's test, answered last, goes
    # on (taking turns left each half answered while the learner forgot), though
    # skill 1's start is the weaker one.
    assert _step(engine, learner, NOW) == (4, "check_later")
    engine.record_attempt(learner, 4, at=NOW, responses=[True] * 5)
    assert _step(engine, learner, NOW) == (2, "check_later")


def test_otherwise_the_weakest_start_goes_on_first() -> None:
    weak = (SkillWork(1, 1, "role"), Plan("activity", 2, "check_later", open_llr=1.2))
    strong = (SkillWork(2, 1, "role"), Plan("activity", 4, "check_later", open_llr=2.0))
    assert last_check(strong, weak, last_skill=None) is weak
    assert last_check(weak, strong, last_skill=None) is weak
    assert last_check(weak, strong, last_skill=2) is strong
    assert last_check(None, strong, last_skill=None) is strong


def test_the_same_test_decides_a_waiting_round() -> None:
    # Waiting changes when the answers come, not the bar: eleven right of twelve
    # after a good start passes as it would in one go, and a run of wrong answers
    # after it fails the round.
    for later, passed in (
        ([True] * 4 + [False] + [True] * 3, True),
        ([False] * 8, False),
    ):
        engine = Engine(_two_skills())
        learner = engine.start({1: 1})
        engine.record_attempt(learner, 2, at=NOW, responses=[True] * 4)
        engine.record_attempt(learner, 2, at=NOW, responses=later[:4])
        engine.record_attempt(learner, 2, at=NOW, responses=later[4:])
        rec = engine.next_step(learner, NOW)
        assert (rec.kind == KIND_DONE) is passed
        if not passed:
            assert rec.reason.code == "remediate_alternative"


def test_the_learner_is_told_why_the_check_goes_on() -> None:
    text = learner_reason("check_later", "Skill 1", "Quiz 2", None)
    assert "Skill 1" in text and "started well" in text
