"""The engine being replaced, as a bench tutor: main's decision path before issue 9.

This is what ``adaptive/next_step.py`` and ``adaptive/attempts.py`` did on main before
the mastery loop (``git show main:adaptive/next_step.py``): the card-based
``adaptive.core.policy.next_step`` over the learner's last 20 attempts and their FSRS
refresher cards, and an attempt that is evidence only when it has a score (a lesson
with no questions writes nothing), one observation per skill tag with weight
``n_items x tag weight`` at the tag's level. A skill that reaches its role target
starts a card (``adaptive.refreshers.schedule_after_evidence``); a later attempt on a
skill with a card is an FSRS review. The BKT defaults are main's (guess 0.2, slip
0.1). No placement: nothing in production calls it, and the new engine has none yet.

Kept so every bench run prints the old engine beside the new one: the new one is
merged only if it beats this.
"""

from __future__ import annotations

from collections.abc import Sequence

from adaptive.core.decisions import AttemptRecord
from adaptive.core.learner import LearnerModel
from adaptive.core.learner_types import Observation, ParamSet
from adaptive.core.params import BKTParams
from adaptive.core.policy import next_step
from adaptive.core.policy_explain import PolicyInput
from adaptive.core.refresh import RefreshScheduler, RefreshState
from adaptive.core.skill_progress import PolicyConfig, mastery_reached
from bench._engine_tutor import _engine_for, at
from bench._reference_tutors import (
    BLOCKED,
    DONE,
    Response,
    Step,
    TutorContext,
    TutorState,
    take,
)

#: main's BKT defaults before issue 9 (the branch made guess/slip more conservative).
MAIN_PARAMS = ParamSet(default=BKTParams(guess=0.2, slip=0.1))
HISTORY_WINDOW = 20


class BeforeTutor:
    """main's next step and attempt recording, driven the way the services drove them."""

    def __init__(self, context: TutorContext) -> None:
        built = _engine_for(context.catalogue)
        self.ids, self.keys = built.ids, built.keys
        self.catalog = built.catalog  # the authors' values: main had no refit
        self.targets = {self.ids[f"skill:{s}"]: t for s, t in context.targets.items()}
        self.model = LearnerModel(n_levels=self.catalog.n_levels, params=MAIN_PARAMS)
        self.cards: dict[int, RefreshState] = {}
        self.history: list[AttemptRecord] = []
        self.scheduler = RefreshScheduler()
        self.config = PolicyConfig()
        self.last_reason = ""
        self.last_refresher = False

    def next_step(self, state: TutorState) -> Step:
        rec = next_step(
            PolicyInput(
                catalog=self.catalog,
                role_targets=self.targets,
                model=self.model,
                now=at(state.now),
                refresh=self.cards,
                history=self.history[-HISTORY_WINDOW:],
                config=self.config,
            )
        )
        self.last_reason = rec.reason.code
        self.last_refresher = rec.kind == "refresher"
        if rec.activity_id is not None:
            return take(self.keys[rec.activity_id], refresher=rec.kind == "refresher")
        if rec.kind == "done":
            return DONE
        return BLOCKED(f"{rec.kind}: {rec.reason.code}")

    def record(
        self, activity: str, responses: Sequence[Response], minutes: float, now: float
    ) -> None:
        when = at(now)
        activity_id = self.ids[f"activity:{activity}"]
        info = self.catalog.activities[activity_id]
        score = (
            sum(1 for r in responses if r.correct) / len(responses)
            if responses
            else None
        )
        self.history.append(
            AttemptRecord(
                activity_id=activity_id,
                at=when,
                score=score,
                skill_ids=tuple(lk.skill_id for lk in info.skills),
                refresher=self.last_refresher,
            )
        )
        if score is None:
            return
        reviewed = [lk.skill_id for lk in info.skills if lk.skill_id in self.cards]
        top = self.model.n_levels - 1
        for link in info.skills:
            self.model.observe(
                Observation(
                    skill_id=link.skill_id,
                    level=min(max(link.level, 1), top),
                    outcome=min(max(score, 0.0), 1.0),
                    at=when,
                    weight=float(max(info.n_items, 1)) * link.weight,
                    difficulty=info.difficulty,
                )
            )
            target = self.targets.get(link.skill_id)
            if (
                link.skill_id not in self.cards
                and target is not None
                and mastery_reached(
                    self.model, link.skill_id, target, when, self.config
                )
            ):
                self.cards[link.skill_id] = self.scheduler.start(
                    link.skill_id, when, prior_knowledge=False
                )
        for skill_id in reviewed:
            self.cards[skill_id] = self.scheduler.review(
                self.cards[skill_id], score, when
            )


def before_tutor(context: TutorContext) -> BeforeTutor:
    return BeforeTutor(context)
