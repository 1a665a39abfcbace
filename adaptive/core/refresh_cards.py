"""Pure: a skill's FSRS card replayed from its check rounds, for the mastery loop.

The loop keeps no card of its own: the card is a function of the decided check
rounds in the attempt history (the first pass starts it, every later round is a
review), so the services, the benches and a reloaded learner all see the same due
date. A pass with no teaching before it is prior knowledge ("easy": a longer first
interval).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

from adaptive.core.refresh import RefreshScheduler, RefreshState

_SCHEDULER = RefreshScheduler()


@dataclass(frozen=True, slots=True)
class Review:
    """One decided check round at a skill's target."""

    at: dt.datetime
    passed: bool
    #: The skill had been taught before this round.
    taught: bool


@dataclass(frozen=True, slots=True)
class SkillCard:
    """When a passed skill should be checked again, and how likely it is recalled."""

    state: RefreshState

    @property
    def due(self) -> dt.datetime:
        return self.state.due

    def retrievability(self, now: dt.datetime) -> float:
        return _SCHEDULER.retrievability(self.state, now)


@lru_cache(maxsize=8192)
def card_for(reviews: tuple[Review, ...]) -> SkillCard:
    """The card after ``reviews`` (which must contain a pass)."""
    start = next(i for i, r in enumerate(reviews) if r.passed)
    first = reviews[start]
    state = _SCHEDULER.start(0, first.at, prior_knowledge=not first.taught)
    for r in reviews[start + 1 :]:
        state = _SCHEDULER.review(state, 1.0 if r.passed else 0.0, r.at)
    return SkillCard(state)
