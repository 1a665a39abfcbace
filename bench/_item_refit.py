"""The bench's retrain of per-question parameters: the production fit, on its learners.

In production ``adaptive.item_training`` refits each question from the organisation's
stored answers and the module snapshot puts the values into the engine's catalogue
(``adaptive.core.fitted_items.with_fitted_items``). Here every answer a Pathwise
learner gives is kept per catalogue, and before each new learner whose catalogue has
``refit_every`` more learners since the last fit, the same pure fit
(``adaptive.core.fit_items``), centring and ``with_fitted_items`` run again: later
learners are taught by an engine calibrated on the earlier ones, as a nightly retrain
would do. A question is used only once it has ``MIN_ITEM_RESPONSES`` answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from adaptive.core.catalogue import Catalog
from adaptive.core.fit_items import ItemResponses, fit_items
from adaptive.core.fitted_items import (
    centred_difficulties,
    fitted_from_fit,
    with_fitted_items,
)

#: Learners between refits (0: never refit, the authors' values throughout).
REFIT = {"every": 0}


@dataclass
class ResponseLog:
    """One catalogue's answers: (learner serial, question's skill) as the ability
    index, as ``adaptive.item_training`` keys it by (person, skill)."""

    learners: list[int] = field(default_factory=list)
    questions: list[tuple[int, int]] = field(default_factory=list)
    correct: list[float] = field(default_factory=list)
    n_learners: int = 0
    fitted_at: int = 0
    n_fitted: int = 0

    def add(self, learner: int, activity_id: int, answers: list[bool]) -> None:
        for index, right in enumerate(answers):
            self.learners.append(learner)
            self.questions.append((activity_id, index))
            self.correct.append(1.0 if right else 0.0)

    def due(self) -> bool:
        every = REFIT["every"]
        return every > 0 and self.n_learners - self.fitted_at >= every

    def refit(self, base: Catalog) -> Catalog:
        """``base`` with the values fitted on every answer so far."""
        self.fitted_at = self.n_learners
        keys = sorted(set(self.questions))
        if not keys:
            return base
        index = {k: i for i, k in enumerate(keys)}
        item = [index[q] for q in self.questions]

        def tag(key: tuple[int, int]) -> tuple[int, int, float]:
            activity = base.activities[key[0]]
            if activity.items and key[1] < len(activity.items):
                it = activity.items[key[1]]
                return it.skill_id, it.level, it.difficulty
            main = activity.skills[0]
            return main.skill_id, main.level, activity.difficulty

        tags = [tag(k) for k in keys]
        ability: dict[tuple[int, int], int] = {}
        learner = [
            ability.setdefault((who, tags[i][0]), len(ability))
            for who, i in zip(self.learners, item, strict=True)
        ]
        authored = np.array([t[2] for t in tags], dtype=np.float64)
        fit = fit_items(
            ItemResponses.from_arrays(learner, item, self.correct, authored, len(keys))
        )
        difficulty = centred_difficulties(
            fit.difficulty, authored, fit.enough, [(t[0], t[1]) for t in tags]
        )
        centred = type(fit)(
            difficulty=difficulty,
            guess=fit.guess,
            slip=fit.slip,
            n_responses=fit.n_responses,
            enough=fit.enough,
            ability=fit.ability,
            iterations=fit.iterations,
            converged=fit.converged,
        )
        fitted = fitted_from_fit(centred, keys)
        self.n_fitted = len(fitted)
        return with_fitted_items(base, fitted)
