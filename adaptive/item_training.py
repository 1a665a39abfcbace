"""Adaptive services: refit a tenant's per-question parameters from its learners' answers.

Every finished attempt keeps its answers (one per question, in question order), so
each answer is scored against its question here and the per-question model
(``adaptive.core.fit_items``) is fitted on them; one ``ItemParams`` row is upserted
per question with enough answers. Flushes, never commits.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive.core.answers import check_answer, is_scored
from adaptive.core.fit_items import MIN_ITEM_RESPONSES, ItemResponses, fit_items
from adaptive.core.fitted_items import centred_difficulties
from adaptive.item_models import ItemParams
from adaptive.models import Activity, ActivitySkill, Attempt
from lti_tool.infra.db import utcnow


@dataclass(frozen=True, slots=True)
class ItemFitSummary:
    """What a per-question refit did for one tenant."""

    tenant_id: int
    n_answers: int
    n_questions: int
    n_fitted: int
    min_answers: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class _Question:
    activity_id: int
    index: int
    skill_id: int
    level: int
    authored: float


def _questions(
    session: Session, activity_ids: Sequence[int]
) -> dict[tuple[int, int], tuple[_Question, dict[str, Any]]]:
    """Each scored question of the activities: its resolved tags and the question
    itself, which ``check_answer`` scores an answer against."""
    links: dict[int, list[ActivitySkill]] = {}
    for link in session.scalars(
        select(ActivitySkill).where(ActivitySkill.activity_id.in_(activity_ids))
    ):
        links.setdefault(link.activity_id, []).append(link)
    out: dict[tuple[int, int], tuple[_Question, dict[str, Any]]] = {}
    for activity in session.scalars(
        select(Activity).where(Activity.id.in_(activity_ids))
    ):
        tags = sorted(links.get(activity.id, []), key=lambda lk: -lk.weight)
        if not tags:
            continue
        for index, q in enumerate((activity.content or {}).get("questions", [])):
            # A scenario's self-rating has no right answer to fit a difficulty to.
            if not isinstance(q, dict) or not is_scored(q):
                continue
            difficulty = q.get("difficulty")
            level = q.get("level")
            out[(activity.id, index)] = (
                _Question(
                    activity.id,
                    index,
                    tags[0].skill_id,
                    int(level) if level is not None else tags[0].level,
                    float(difficulty)
                    if difficulty is not None
                    else activity.difficulty,
                ),
                q,
            )
    return out


def fit_item_params(
    session: Session, *, tenant_id: int, now: dt.datetime | None = None
) -> ItemFitSummary:
    """Refit one tenant's per-question parameters and upsert the ones with enough data.

    A learner's ability is per (person, skill). Fitted difficulties are centred per
    (skill, level) on the authors' mean difficulty there, so they stay in the
    catalogue's units (0 = typical for the level) and only the spread is learnt.
    """
    fitted_at = now or utcnow()
    attempts = session.execute(
        select(Attempt.person_id, Attempt.activity_id, Attempt.answers).where(
            Attempt.tenant_id == tenant_id, Attempt.finished_at.is_not(None)
        )
    ).all()
    questions = _questions(session, sorted({a.activity_id for a in attempts}))
    item_index: dict[tuple[int, int], int] = {}
    learner_index: dict[tuple[int, int], int] = {}
    learners, items, correct = [], [], []
    for person_id, activity_id, answers in attempts:
        for index, answer in enumerate(answers or []):
            found = questions.get((activity_id, index))
            if found is None or answer is None:
                continue
            question, stored = found
            items.append(item_index.setdefault((activity_id, index), len(item_index)))
            learners.append(
                learner_index.setdefault(
                    (person_id, question.skill_id), len(learner_index)
                )
            )
            correct.append(1.0 if check_answer(stored, answer) else 0.0)
    keys = list(item_index)
    authored = np.array([questions[k][0].authored for k in keys], dtype=np.float64)
    started = time.perf_counter()
    fit = fit_items(
        ItemResponses.from_arrays(learners, items, correct, authored, len(keys))
    )
    difficulty = centred_difficulties(
        fit.difficulty,
        authored,
        fit.enough,
        [(questions[k][0].skill_id, questions[k][0].level) for k in keys],
    )
    existing = {
        (row.activity_id, row.question): row
        for row in session.scalars(
            select(ItemParams).where(ItemParams.tenant_id == tenant_id)
        )
    }
    for k, (activity_id, index) in enumerate(keys):
        if not fit.enough[k]:
            continue
        row = existing.get((activity_id, index))
        if row is None:
            row = ItemParams(
                tenant_id=tenant_id, activity_id=activity_id, question=index
            )
            session.add(row)
        row.difficulty = float(difficulty[k])
        row.guess = float(fit.guess[k])
        row.slip = float(fit.slip[k])
        row.n_responses = int(fit.n_responses[k])
        row.fitted_at = fitted_at
    session.flush()
    return ItemFitSummary(
        tenant_id=tenant_id,
        n_answers=len(correct),
        n_questions=len(keys),
        n_fitted=int(fit.enough.sum()),
        min_answers=MIN_ITEM_RESPONSES,
        seconds=time.perf_counter() - started,
    )
