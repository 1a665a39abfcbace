"""Integration tests for adaptive.training and the retrain job on a real database."""

from __future__ import annotations

import datetime as dt

import numpy as np
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from adaptive.core.params import GUESS_MAX, SLIP_MAX
from adaptive.jobs import retrain_model
from adaptive.models import Evidence, Framework, Skill, SkillParams
from adaptive.training import fit_skill_params, tenants_with_evidence
from lti_tool.infra.db import session_scope
from lti_tool.infra.models import Deployment, Person, Registration
from tests.factories import make_skills, make_tenant

EPOCH = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)


def add_evidence(
    session: Session,
    tenant: Deployment,
    skills: list[Skill],
    *,
    n_people: int,
    n_opps: int,
    seed: int,
    voided_every: int = 0,
) -> int:
    """BKT-like answers: learners start unknown and learn per opportunity."""
    rng = np.random.default_rng(seed)
    count = 0
    for p in range(n_people):
        person = Person(tenant_id=tenant.id, sub=f"sub-{tenant.id}-{p}")
        session.add(person)
        session.flush()
        for s_index, skill in enumerate(skills):
            known = rng.random() < 0.2
            for k in range(n_opps):
                p_right = 0.9 if known else 0.2
                outcome = float(rng.random() < p_right)
                count += 1
                session.add(
                    Evidence(
                        tenant_id=tenant.id,
                        person_id=person.id,
                        skill_id=skill.id,
                        outcome=outcome,
                        weight=1.0 if k % 3 else 0.5,
                        occurred_at=EPOCH
                        + dt.timedelta(days=k * 1.5 + s_index, minutes=p),
                        voided=bool(voided_every and count % voided_every == 0),
                    )
                )
                known = known or rng.random() < 0.25
    session.flush()
    return count


def test_fit_skill_params_writes_bounded_rows_per_skill(db_session: Session) -> None:
    tenant = make_tenant(db_session, "a")
    skills = make_skills(db_session, "a", 3)
    add_evidence(db_session, tenant, skills, n_people=40, n_opps=8, seed=1)

    summary = fit_skill_params(db_session, tenant_id=tenant.id)

    assert summary.fitted
    assert summary.n_observations == 3 * 40 * 8
    assert summary.n_learners == 40
    assert summary.auc_in_sample is not None and summary.auc_in_sample > 0.6
    rows = db_session.scalars(
        select(SkillParams).where(SkillParams.tenant_id == tenant.id)
    ).all()
    assert sorted(r.skill_id for r in rows) == sorted(s.id for s in skills)
    for row in rows:
        assert row.n_observations == 320
        assert 0.0 < row.guess <= GUESS_MAX and 0.0 < row.slip <= SLIP_MAX
        assert 0.0 < row.prior < 1.0 and 0.0 < row.learn < 1.0
        assert 0.0 < row.forget_per_day <= 0.5
        # the simulated learners learn at 0.25 per opportunity, guess 0.2, slip 0.1
        assert 0.1 < row.learn < 0.45
        assert row.metrics["n_learners"] == 40
        assert set(row.metrics["ability"]) >= {"coef_bkt", "coef_ability"}


def test_refit_updates_in_place_and_ignores_voided_evidence(
    db_session: Session,
) -> None:
    tenant = make_tenant(db_session, "b")
    skills = make_skills(db_session, "b", 2)
    total = add_evidence(
        db_session, tenant, skills, n_people=20, n_opps=6, seed=2, voided_every=4
    )
    first = fit_skill_params(db_session, tenant_id=tenant.id)
    second = fit_skill_params(
        db_session, tenant_id=tenant.id, now=EPOCH + dt.timedelta(days=60)
    )

    assert first.n_observations == second.n_observations == total - total // 4
    rows = db_session.scalars(
        select(SkillParams).where(SkillParams.tenant_id == tenant.id)
    ).all()
    assert len(rows) == 2
    assert all(r.fitted_at == EPOCH + dt.timedelta(days=60) for r in rows)


def test_too_little_evidence_keeps_defaults(db_session: Session) -> None:
    tenant = make_tenant(db_session, "c")
    skills = make_skills(db_session, "c", 1)
    add_evidence(db_session, tenant, skills, n_people=2, n_opps=3, seed=3)

    summary = fit_skill_params(db_session, tenant_id=tenant.id)

    assert not summary.fitted
    assert "defaults kept" in summary.reason
    assert (
        db_session.scalars(
            select(SkillParams).where(SkillParams.tenant_id == tenant.id)
        ).first()
        is None
    )


def test_retrain_job_fits_every_tenant_with_evidence(engine: Engine) -> None:
    with session_scope() as session:
        tenants = [make_tenant(session, f"job{i}") for i in range(2)]
        skills = make_skills(session, "job", 2)
        for i, tenant in enumerate(tenants):
            add_evidence(session, tenant, skills, n_people=15, n_opps=5, seed=10 + i)
        tenant_ids = [t.id for t in tenants]
        registration_ids = [t.registration_id for t in tenants]
        framework_id = skills[0].framework_id
    try:
        with session_scope() as session:
            assert set(tenant_ids) <= set(tenants_with_evidence(session))
        summaries = [s for s in retrain_model(None) if s["tenant_id"] in tenant_ids]
        assert [s["fitted"] for s in summaries] == [True, True]
        only_one = retrain_model(tenant_ids[0])
        assert [s["tenant_id"] for s in only_one] == [tenant_ids[0]]
        with session_scope() as session:
            rows = session.scalars(
                select(SkillParams).where(SkillParams.tenant_id.in_(tenant_ids))
            ).all()
            assert len(rows) == 4
    finally:
        with session_scope() as session:
            session.execute(
                delete(SkillParams).where(SkillParams.tenant_id.in_(tenant_ids))
            )
            session.execute(delete(Evidence).where(Evidence.tenant_id.in_(tenant_ids)))
            session.execute(delete(Person).where(Person.tenant_id.in_(tenant_ids)))
            session.execute(delete(Skill).where(Skill.framework_id == framework_id))
            session.execute(delete(Framework).where(Framework.id == framework_id))
            session.execute(delete(Deployment).where(Deployment.id.in_(tenant_ids)))
            session.execute(
                delete(Registration).where(Registration.id.in_(registration_ids))
            )
