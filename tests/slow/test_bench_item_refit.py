"""The bench's retrain (bench._item_refit) runs the production fit into the catalogue."""

from __future__ import annotations

import numpy as np

from adaptive.core.catalogue import ActivityInfo, Catalog, SkillInfo, SkillLink
from adaptive.core.fit_items import MIN_ITEM_RESPONSES
from bench._item_refit import REFIT, ResponseLog


def _catalog() -> Catalog:
    acts = [
        ActivityInfo(
            1, "q", "Quiz", kind="quiz", skills=(SkillLink(1, 1.0, 2),), n_items=3
        )
    ]
    return Catalog.build([SkillInfo(1, "s1", "Skill 1")], acts, [], module_order=[1])


def test_a_refit_gives_the_catalogue_each_questions_own_difficulty() -> None:
    rng = np.random.default_rng(2)
    log = ResponseLog()
    for learner in range(MIN_ITEM_RESPONSES + 20):
        log.add(learner, 1, [bool(rng.random() < p) for p in (0.9, 0.6, 0.25)])
        log.n_learners += 1
    refit = log.refit(_catalog())
    items = refit.activities[1].items
    assert log.n_fitted == 3
    assert items[0].difficulty < items[1].difficulty < items[2].difficulty
    # Centred on the authors' value for the level (0 here): only the spread is learnt.
    assert abs(sum(i.difficulty for i in items)) < 1e-9
    assert all(i.skill_id == 1 and i.level == 2 for i in items)


def test_too_few_answers_keep_the_authors_values() -> None:
    log = ResponseLog()
    log.add(0, 1, [True, False, True])
    assert log.refit(_catalog()).activities[1].items == ()


def test_a_refit_is_due_every_n_learners_only_when_asked() -> None:
    log = ResponseLog(n_learners=5)
    assert not log.due()  # the default: never
    REFIT["every"] = 5
    try:
        assert log.due()
        log.refit(_catalog())
        assert not log.due()
    finally:
        REFIT["every"] = 0
