"""Unit: FSRS refresher scheduling and drift."""

from __future__ import annotations

import datetime as dt

import pytest
from fsrs import Rating

from adaptive.core.refresh import RefreshScheduler, RefreshState, rating_for

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def test_mastery_starts_a_card_due_in_days() -> None:
    sched = RefreshScheduler()
    taught = sched.start(1, T0, prior_knowledge=False)
    known = sched.start(1, T0, prior_knowledge=True)
    assert T0 + dt.timedelta(days=1) <= taught.due < known.due
    assert sched.retrievability(taught, taught.due) < 1.0


def test_good_reviews_grow_the_interval_and_failures_shrink_it() -> None:
    sched = RefreshScheduler()
    card = sched.start(1, T0, prior_knowledge=False)
    first = card.due - T0
    good = sched.review(card, 1.0, card.due)
    assert good.due - card.due > first
    bad = sched.review(good, 0.0, good.due)
    assert bad.due - good.due < good.due - card.due
    assert bad.reviews == 3


def test_drift_brings_the_refresher_forward_in_proportion() -> None:
    sched = RefreshScheduler()
    card = sched.review(
        sched.start(1, T0, prior_knowledge=False), 1.0, T0 + dt.timedelta(days=2)
    )
    at = T0 + dt.timedelta(days=3)
    weak = sched.drift(card, outcome=0.0, weight=0.5, at=at)
    strong = sched.drift(card, outcome=0.0, weight=1.0, at=at)
    passing = sched.drift(card, outcome=0.9, weight=1.0, at=at)
    assert strong.due == at and strong.drifted_at == at
    assert at < weak.due < card.due
    assert passing is card
    due = sched.due({1: strong, 2: card}, at)
    assert [d.skill_id for d in due] == [1] and due[0].drift


def test_state_round_trips_and_ratings_map_scores() -> None:
    sched = RefreshScheduler()
    state = sched.start(9, T0, prior_knowledge=True)
    copy = RefreshState.from_dict(state.to_dict())
    assert copy.due == state.due and copy.reviews == 1
    assert rating_for(0.2) == Rating.Again
    assert rating_for(0.6) == Rating.Hard
    assert rating_for(1.0) == Rating.Good
    assert rating_for(1.0, prior_knowledge=True) == Rating.Easy
    with pytest.raises(ValueError, match="naive"):
        sched.start(1, dt.datetime(2025, 1, 1), prior_knowledge=False)  # noqa: DTZ001
