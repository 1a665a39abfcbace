"""Adaptive services: where a refresher is scheduled: started, pulled forward, reviewed.

The schedule itself is FSRS in ``adaptive.core.refresh``; this module decides when the
services ask it. A skill reaching a role's target starts a card, failing evidence from
the learner's work elsewhere (xAPI) is drift that brings the refresher forward, and a
finished attempt on a skill with a card is a review.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy.orm import Session

from adaptive.core.learner_types import Observation
from adaptive.core.refresh import RefreshScheduler
from adaptive.core.skill_progress import PolicyConfig, mastery_reached
from adaptive.learner_store import LearnerState, save_skill
from adaptive.models import Evidence

DRIFT_SOURCES = frozenset({"xapi"})


def schedule_after_evidence(
    state: LearnerState,
    evidence: Evidence,
    observation: Observation,
    *,
    target: int | None,
    scheduler: RefreshScheduler,
    config: PolicyConfig,
) -> None:
    """Update the skill's refresher after ``observation`` (from ``evidence``) was applied.

    Failing xAPI evidence on a skill with a card is drift; a skill without a card that
    has just reached ``target`` gets its first card (a placement counts as knowing it
    already).
    """
    card = state.refresh.get(evidence.skill_id)
    if card is not None and evidence.source in DRIFT_SOURCES:
        state.refresh[evidence.skill_id] = scheduler.drift(
            card,
            outcome=observation.outcome,
            weight=observation.weight,
            at=evidence.occurred_at,
        )
    if (
        card is None
        and target is not None
        and mastery_reached(
            state.model, evidence.skill_id, target, evidence.occurred_at, config
        )
    ):
        state.refresh[evidence.skill_id] = scheduler.start(
            evidence.skill_id,
            evidence.occurred_at,
            prior_knowledge=evidence.rule_key == "placement",
        )


def review_refreshers(
    session: Session,
    state: LearnerState,
    skill_ids: Iterable[int],
    *,
    score: float,
    at: dt.datetime,
    scheduler: RefreshScheduler,
) -> None:
    """A finished attempt is an FSRS review of each skill in ``skill_ids`` (all have cards)."""
    for skill_id in skill_ids:
        state.refresh[skill_id] = scheduler.review(state.refresh[skill_id], score, at)
        save_skill(session, state, skill_id, evidence_at=at)
