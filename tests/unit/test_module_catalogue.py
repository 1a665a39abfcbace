"""Unit: the shared rules of a module's catalogue (``adaptive.core.module_catalogue``)."""

from __future__ import annotations

from adaptive.core.catalogue import ActivityInfo, ItemInfo, SkillLink
from adaptive.core.fitted_items import FittedItem
from adaptive.core.module_catalogue import (
    authored_activity,
    module_probes,
    path_activities,
)


def _info(aid: int, kind: str, skill: int, level: int) -> ActivityInfo:
    return ActivityInfo(
        aid, f"a{aid}", f"A{aid}", kind=kind, skills=(SkillLink(skill, 1.0, level),)
    )


def _question(**tags: object) -> dict[str, object]:
    return {"prompt": "?", "options": ["x", "y"], "answer": 0, **tags}


SKILLS = {"one": 1, "two": 2}


def test_placement_items_are_probes_and_never_path_steps() -> None:
    item = authored_activity(_info(1, "placement_item", 1, 2), [_question()], SKILLS)
    quiz = authored_activity(_info(2, "quiz", 1, 2), [_question()] * 3, SKILLS)
    assert [a.id for a in path_activities([item, quiz])] == [2]
    # Skill 1 has a placement item: its quiz is not probed as well.
    assert [p.ref for p in module_probes([item, quiz]).probes] == ["1:0"]


def test_a_skill_without_placement_items_is_probed_by_its_checks() -> None:
    rating = {"type": "scenario", "prompt": "How did it go?", "rubric": ["ok"]}
    quiz = authored_activity(
        _info(2, "quiz", 2, 1), [rating, _question(difficulty=0.7), _question()], SKILLS
    )
    lesson = authored_activity(_info(3, "lesson", 2, 1), [_question()], SKILLS)
    (probe,) = module_probes([quiz, lesson]).probes
    # The first *scored* question, at its own difficulty; a lesson is no check.
    assert (probe.ref, probe.skill_id, probe.level, probe.difficulty) == (
        "2:1",
        2,
        1,
        0.7,
    )
    assert quiz.info.n_items == 2 and quiz.scored == (1, 2)


def test_a_question_s_own_tags_and_fitted_values_reach_its_item() -> None:
    quiz = authored_activity(
        _info(4, "quiz", 1, 2),
        [_question(skill="two", level=1), _question()],
        SKILLS,
        {1: FittedItem(0.4, 0.2, 0.1)},
    )
    assert quiz.info.items == (
        ItemInfo(2, 1, 0.0),
        ItemInfo(1, 2, 0.4, 0.2, 0.1),
    )
