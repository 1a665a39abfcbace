"""Integration tests for the per-question refit (adaptive.item_training) on a real database."""

from __future__ import annotations

import datetime as dt

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive.core.fit_items import MIN_ITEM_RESPONSES
from adaptive.item_models import ItemParams
from adaptive.item_training import fit_item_params
from adaptive.models import Attempt
from tests.factories import make_catalogue, make_person, make_tenant

NOW = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)


def test_questions_with_enough_answers_get_their_own_difficulty(
    db_session: Session,
) -> None:
    tenant = make_tenant(db_session)
    cat = make_catalogue(db_session, tenant.id)
    quiz = cat["acts"]["quiz-a"]  # four questions, right answer "a"
    rng = np.random.default_rng(5)
    p_right = [0.95, 0.7, 0.5, 0.2]
    for n in range(MIN_ITEM_RESPONSES + 10):
        person = make_person(db_session, tenant)
        answers = ["a" if rng.random() < p else "b" for p in p_right]
        if n % 2:
            answers = answers[:3]  # the last question left unanswered by half
        db_session.add(
            Attempt(
                tenant_id=tenant.id,
                person_id=person.id,
                activity_id=quiz.id,
                answers=answers,
                score=None,
                started_at=NOW,
                finished_at=NOW,
            )
        )
    db_session.flush()

    summary = fit_item_params(db_session, tenant_id=tenant.id, now=NOW)

    assert summary.n_questions == 4
    assert summary.n_fitted == 3  # the fourth has only half the answers
    rows = {
        row.question: row
        for row in db_session.scalars(
            select(ItemParams).where(ItemParams.tenant_id == tenant.id)
        )
    }
    assert sorted(rows) == [0, 1, 2]
    assert rows[0].difficulty < rows[1].difficulty < rows[2].difficulty
    # Centred on the authors' difficulty for the level (0 here).
    assert abs(sum(r.difficulty for r in rows.values())) < 1e-9
    assert all(r.n_responses == MIN_ITEM_RESPONSES + 10 for r in rows.values())

    again = fit_item_params(db_session, tenant_id=tenant.id, now=NOW)
    assert again.n_fitted == 3
    assert (
        len(
            db_session.scalars(
                select(ItemParams).where(ItemParams.tenant_id == tenant.id)
            ).all()
        )
        == 3
    )


def test_a_tenant_without_attempts_fits_nothing(db_session: Session) -> None:
    tenant = make_tenant(db_session)
    summary = fit_item_params(db_session, tenant_id=tenant.id, now=NOW)
    assert (summary.n_answers, summary.n_questions, summary.n_fitted) == (0, 0, 0)
