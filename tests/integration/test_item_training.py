"""Integration tests for the per-question refit (adaptive.item_training) on a real database."""

from __future__ import annotations

import datetime as dt

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive.core.fit_items import MIN_ITEM_RESPONSES
from adaptive.item_models import ItemParams
from adaptive.item_params import evidence_parameters
from adaptive.item_training import fit_item_params
from adaptive.models import Attempt
from adaptive.module_snapshots import load_module
from lti_tool.infra.models import Deployment
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


def _answers(db_session: Session, tenant: Deployment, quiz_id: int) -> None:
    rng = np.random.default_rng(11)
    p_right = [0.95, 0.7, 0.5, 0.2]
    for _ in range(MIN_ITEM_RESPONSES + 10):
        person = make_person(db_session, tenant)
        db_session.add(
            Attempt(
                tenant_id=tenant.id,
                person_id=person.id,
                activity_id=quiz_id,
                answers=["a" if rng.random() < p else "b" for p in p_right],
                score=None,
                started_at=NOW,
                finished_at=NOW,
            )
        )
    db_session.flush()


def test_a_retrain_reaches_the_cached_module_snapshot(db_session: Session) -> None:
    tenant = make_tenant(db_session)
    cat = make_catalogue(db_session, tenant.id)
    quiz = cat["acts"]["quiz-a"]
    module = cat["module"]
    before = load_module(db_session, tenant_id=tenant.id, module_id=module.id)
    assert load_module(db_session, tenant_id=tenant.id, module_id=module.id) is before
    assert all(i.difficulty == 0.0 for i in before.catalog.activities[quiz.id].items)
    _answers(db_session, tenant, quiz.id)

    fit_item_params(db_session, tenant_id=tenant.id, now=NOW)

    after = load_module(db_session, tenant_id=tenant.id, module_id=module.id)
    assert after is not before  # the retrain is not hidden by the cache
    items = after.catalog.activities[quiz.id].items
    rows = {
        r.question: r
        for r in db_session.scalars(
            select(ItemParams).where(ItemParams.tenant_id == tenant.id)
        )
    }
    assert [round(i.difficulty, 9) for i in items] == [
        round(rows[q].difficulty, 9) for q in range(4)
    ]
    assert items[0].difficulty < items[3].difficulty
    # Fewer answers than the guess/slip bar: the skill's own values stay.
    assert all(i.guess is None and i.slip is None for i in items)
    # Placement falls back to the quiz's first question: its fitted difficulty.
    probes = [p for p in after.probes.probes if p.ref == f"{quiz.id}:0"]
    assert [p.difficulty for p in probes] == [items[0].difficulty]


def test_evidence_rows_are_observed_with_their_fitted_group(
    db_session: Session,
) -> None:
    tenant = make_tenant(db_session)
    cat = make_catalogue(db_session, tenant.id)
    quiz = cat["acts"]["quiz-a"]
    assert (
        evidence_parameters(db_session, tenant_id=tenant.id, activity_ids=[quiz.id])
        == {}
    )
    _answers(db_session, tenant, quiz.id)
    fit_item_params(db_session, tenant_id=tenant.id, now=NOW)
    rows = db_session.scalars(
        select(ItemParams).where(ItemParams.tenant_id == tenant.id)
    ).all()

    found = evidence_parameters(db_session, tenant_id=tenant.id, activity_ids=[quiz.id])

    ((key, values),) = found.items()
    assert key[0] == quiz.id
    mean = sum(r.difficulty for r in rows) / len(rows)
    assert abs(values.difficulty - mean) < 1e-9
