"""Unit tests for the engine (adaptive.core): thinly checked targets and fresh re-checks.

A target whose level is checked by fewer distinct questions than a confident check
needs is taught before its check, a repeated question is not new evidence, and
"targets met" states the lower confidence; a maintenance re-check asks the questions
the learner has seen least.
"""

from __future__ import annotations

import datetime as dt

from adaptive.core.catalogue import Catalog
from adaptive.core.engine import Engine
from adaptive.core.engine_learner import Learner
from adaptive.core.mastery import KIND_DONE, MasteryConfig
from tests.engine_support import act as _act
from tests.engine_support import module_catalog as _catalog

NOW = dt.datetime(2025, 3, 3, 9, tzinfo=dt.UTC)


def _thin() -> Catalog:
    # Level 1 is checked by one one-question item; level 2 has a three-question quiz.
    return _catalog(
        [
            _act(1, "lesson", 1, 0),
            _act(2, "placement_item", 1, 1),
            _act(3, "quiz", 2, 3),
            _act(4, "lesson", 2, 0),
        ]
    )


def test_a_thin_target_is_taught_before_its_check() -> None:
    engine = Engine(_thin())
    rec = engine.next_step(engine.start({1: 1}), NOW)
    assert (rec.activity_id, rec.reason.code) == (1, "teach")


def test_a_confident_target_is_still_checked_first() -> None:
    engine = Engine(_catalog([_act(1, "lesson", 1, 0), _act(2, "quiz", 1, 4)]))
    rec = engine.next_step(engine.start({1: 1}), NOW)
    assert (rec.activity_id, rec.reason.code) == (2, "check_known")


def test_the_same_question_again_is_not_new_evidence() -> None:
    engine = Engine(_thin())
    learner = engine.start({1: 1})
    engine.record_attempt(learner, 1, at=NOW)
    for _ in range(6):
        engine.record_attempt(learner, 2, at=NOW, responses=[True])
    rec = engine.next_step(learner, NOW)
    # Six right answers to one question do not make "met": the round goes on with
    # the distinct questions above the level.
    assert rec.kind != KIND_DONE
    assert rec.activity_id == 3


def test_a_thin_pass_states_its_lower_confidence() -> None:
    engine = Engine(_thin())
    learner = engine.start({1: 1})
    engine.record_attempt(learner, 1, at=NOW)
    assert engine.next_step(learner, NOW).activity_id == 2
    engine.record_attempt(learner, 2, at=NOW, responses=[True])
    engine.record_attempt(learner, 3, at=NOW, responses=[True, True, False])
    rec = engine.next_step(learner, NOW)
    assert rec.kind == KIND_DONE
    assert rec.reason.numbers["thin_targets"] == 1
    confidence = rec.reason.numbers["check_confidence"]
    assert 0.5 < confidence < 1.0 - MasteryConfig().alpha
    assert "1 of them checked by fewer questions" in rec.reason.manager_text


def test_a_wrong_answer_at_a_thin_level_fails_the_round() -> None:
    engine = Engine(_thin())
    learner = engine.start({1: 1})
    engine.record_attempt(learner, 1, at=NOW)
    engine.record_attempt(learner, 2, at=NOW, responses=[False])
    engine.record_attempt(learner, 3, at=NOW, responses=[True, True, True])
    rec = engine.next_step(learner, NOW)
    assert rec.kind != KIND_DONE
    assert rec.reason.code in {"teach", "remediate_alternative"}


def test_a_confident_pass_states_the_rounds_bar() -> None:
    engine = Engine(_catalog([_act(1, "lesson", 1, 0), _act(2, "quiz", 1, 4)]))
    learner = engine.start({1: 1})
    for _ in range(3):
        engine.record_attempt(learner, 2, at=NOW, responses=[True] * 4)
    rec = engine.next_step(learner, NOW)
    assert rec.kind == KIND_DONE
    assert rec.reason.numbers["thin_targets"] == 0
    assert rec.reason.numbers["check_confidence"] == 1.0 - MasteryConfig().alpha


def _recheck_catalogue(refresher: bool) -> Catalog:
    # Two five-question quizzes pass skill 1; a three-question one is never seen.
    acts = [
        _act(1, "lesson", 1, 0),
        _act(2, "quiz", 1, 5),
        _act(3, "quiz", 1, 5),
        _act(4, "quiz", 1, 3),
    ]
    if refresher:
        acts.append(_act(5, "refresher", 1, 0))
    return _catalog(acts)


def _passed_long_ago(engine: Engine) -> tuple[Learner, dt.datetime]:
    learner = engine.start({1: 1})
    engine.record_attempt(learner, 1, at=NOW)
    engine.record_attempt(learner, 2, at=NOW, responses=[True] * 5)
    engine.record_attempt(learner, 3, at=NOW, responses=[True] * 5)
    assert engine.next_step(learner, NOW).kind == KIND_DONE
    return learner, NOW + dt.timedelta(days=60)


def test_a_due_recheck_asks_the_unseen_questions() -> None:
    engine = Engine(_recheck_catalogue(refresher=False))
    learner, later = _passed_long_ago(engine)
    rec = engine.next_step(learner, later)
    # Not quiz 2 (most questions, but answered at the pass): the unseen quiz 4.
    assert (rec.activity_id, rec.reason.code) == (4, "recheck")


def test_the_check_after_a_refresher_asks_the_unseen_questions() -> None:
    engine = Engine(_recheck_catalogue(refresher=True))
    learner, later = _passed_long_ago(engine)
    rec = engine.next_step(learner, later)
    assert (rec.activity_id, rec.reason.code) == (5, "recheck")
    engine.record_attempt(learner, 5, at=later)
    rec = engine.next_step(learner, later)
    assert (rec.activity_id, rec.reason.code) == (4, "check_refreshed")


def test_a_check_two_levels_up_is_not_evidence_for_a_thin_level() -> None:
    # Level 1 has one question, the next check is at level 3: a learner at level 1
    # is expected to fail it, so it is not asked for level 1, and the level-1
    # question alone (right after teaching) makes "met" with its low confidence.
    engine = Engine(
        _catalog(
            [
                _act(1, "lesson", 1, 0),
                _act(2, "placement_item", 1, 1),
                _act(3, "quiz", 3, 4),
                _act(4, "lesson", 3, 0),
            ]
        )
    )
    learner = engine.start({1: 1})
    engine.record_attempt(learner, 1, at=NOW)
    assert engine.next_step(learner, NOW).activity_id == 2
    engine.record_attempt(learner, 2, at=NOW, responses=[True])
    rec = engine.next_step(learner, NOW)
    assert rec.kind == KIND_DONE
    assert rec.reason.numbers["check_confidence"] < 0.7


def test_a_thin_round_passes_on_odds_not_on_the_harder_levels_share() -> None:
    # Right at level 1, two of three right at level 2 (below p_known = 0.75): the
    # odds still favour "at target", so the thin round passes.
    engine = Engine(_thin())
    learner = engine.start({1: 1})
    engine.record_attempt(learner, 1, at=NOW)
    engine.record_attempt(learner, 2, at=NOW, responses=[True])
    engine.record_attempt(learner, 3, at=NOW, responses=[True, False, True])
    assert engine.next_step(learner, NOW).kind == KIND_DONE
