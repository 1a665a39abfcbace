"""Pure: refresher scheduling for mastered skills with FSRS, and drift from work evidence.

Each mastered skill gets an FSRS card (``fsrs`` package). Mastery is its first review;
every refresher is another review rated from its score; the card's due date is when the
next refresher is due. Failing work evidence on a mastered skill ("drift") brings the
due date forward in proportion to how strong the signal is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from fsrs import Card, Rating, Scheduler

PASS_SCORE = 0.75
FAIL_SCORE = 0.5


def rating_for(score: float, *, prior_knowledge: bool = False) -> Rating:
    """Map a refresher score (0..1) to an FSRS rating.

    ``prior_knowledge``: mastery shown without being taught (placement) is "easy".
    """
    if score < FAIL_SCORE:
        return Rating.Again
    if score < PASS_SCORE:
        return Rating.Hard
    if prior_knowledge:
        return Rating.Easy
    return Rating.Good


def _utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the refresher scheduler")
    return value.astimezone(dt.UTC)


@dataclass(frozen=True, slots=True)
class RefreshState:
    """A skill's refresher card plus when drift last pulled it forward."""

    card: Card
    drifted_at: dt.datetime | None = None
    reviews: int = 0

    @property
    def due(self) -> dt.datetime:
        return self.card.due

    def to_dict(self) -> dict[str, Any]:
        return {
            "card": dict(self.card.to_dict()),
            "drifted_at": self.drifted_at.isoformat() if self.drifted_at else None,
            "reviews": self.reviews,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RefreshState:
        drifted = data.get("drifted_at")
        return cls(
            card=Card.from_dict(data["card"]),
            drifted_at=dt.datetime.fromisoformat(drifted) if drifted else None,
            reviews=int(data.get("reviews", 0)),
        )


@dataclass(frozen=True, slots=True)
class DueRefresher:
    skill_id: int
    due: dt.datetime
    overdue_days: float
    retrievability: float
    drift: bool


class RefreshScheduler:
    """FSRS with day-scale steps only: skills are reviewed in days, not minutes."""

    def __init__(
        self,
        *,
        desired_retention: float = 0.85,
        parameters: Sequence[float] | None = None,
        maximum_interval_days: int = 365,
        fuzz: bool = False,
    ) -> None:
        kwargs: dict[str, Any] = {
            "desired_retention": desired_retention,
            "learning_steps": (),
            "relearning_steps": (),
            "maximum_interval": maximum_interval_days,
            "enable_fuzzing": fuzz,
        }
        if parameters is not None:
            kwargs["parameters"] = tuple(parameters)
        self.scheduler = Scheduler(**kwargs)

    def start(
        self, skill_id: int, at: dt.datetime, *, prior_knowledge: bool
    ) -> RefreshState:
        """A skill just reached mastery: its first review."""
        at = _utc(at)
        card = Card(card_id=skill_id, due=at)
        rating = rating_for(1.0, prior_knowledge=prior_knowledge)
        card, _ = self.scheduler.review_card(card, rating, review_datetime=at)
        return RefreshState(card=card, reviews=1)

    def review(
        self, state: RefreshState, score: float, at: dt.datetime
    ) -> RefreshState:
        """A refresher (or any practice of the skill) was done with ``score``."""
        card, _ = self.scheduler.review_card(
            state.card, rating_for(score), review_datetime=_utc(at)
        )
        return RefreshState(card=card, drifted_at=None, reviews=state.reviews + 1)

    def retrievability(self, state: RefreshState, now: dt.datetime) -> float:
        return float(
            self.scheduler.get_card_retrievability(
                state.card, current_datetime=_utc(now)
            )
        )

    def drift(
        self, state: RefreshState, *, outcome: float, weight: float, at: dt.datetime
    ) -> RefreshState:
        """Failing work evidence pulls the refresher forward.

        Severity = weight x shortfall below a pass; a full-weight failure makes the
        refresher due now, a weak one moves the due date part of the way.
        """
        at = _utc(at)
        if outcome >= FAIL_SCORE or weight <= 0.0 or state.card.due <= at:
            return state
        severity = min(weight * (1.0 - outcome), 1.0)
        remaining = state.card.due - at
        card = Card.from_dict(state.card.to_dict())
        card.due = at + remaining * (1.0 - severity)
        return replace(state, card=card, drifted_at=at)

    def due(
        self, states: Mapping[int, RefreshState], now: dt.datetime
    ) -> list[DueRefresher]:
        """Skills whose refresher is due, most urgent (lowest recall chance) first."""
        now = _utc(now)
        out = [
            DueRefresher(
                skill_id=skill_id,
                due=state.card.due,
                overdue_days=(now - state.card.due).total_seconds() / 86400.0,
                retrievability=self.retrievability(state, now),
                drift=state.drifted_at is not None,
            )
            for skill_id, state in states.items()
            if state.card.due <= now
        ]
        out.sort(key=lambda d: (not d.drift, d.retrievability, d.due))
        return out
