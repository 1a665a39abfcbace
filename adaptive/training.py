"""Service: fit the learner model's parameters from a tenant's own evidence.

Reads the tenant's non-voided evidence, fits BKT with forgetting per skill
(``adaptive.core.fit_ability``) and upserts one ``SkillParams`` row per skill with evidence.
Skills with little evidence are shrunk toward the tenant's pooled fit by the fitter
itself; a tenant with too little evidence overall keeps the defaults (no rows).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score
from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive.core.fit_ability import fit_model, predict_one_step
from adaptive.core.fit_data import ResponseLog
from adaptive.models import Evidence, SkillParams
from lti_tool.infra.db import utcnow

# Below this many responses EM has nothing to say beyond the defaults.
MIN_RESPONSES = 30
# Below this many responses a skill's parameters are mostly the pooled fit.
FEW_RESPONSES = 50
SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True, slots=True)
class FitSummary:
    """What a retraining did for one tenant (JSON-friendly via :meth:`to_dict`)."""

    tenant_id: int
    fitted: bool
    reason: str
    n_observations: int
    n_learners: int
    n_skills: int
    seconds: float
    auc_in_sample: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def tenants_with_evidence(session: Session) -> list[int]:
    """Tenants that have any non-voided evidence, in id order."""
    rows = session.scalars(
        select(Evidence.tenant_id)
        .where(Evidence.voided.is_(False))
        .distinct()
        .order_by(Evidence.tenant_id)
    )
    return [int(t) for t in rows]


def _load_log(
    session: Session, tenant_id: int
) -> tuple[ResponseLog, list[int], int] | None:
    rows = session.execute(
        select(
            Evidence.person_id,
            Evidence.skill_id,
            Evidence.outcome,
            Evidence.weight,
            Evidence.occurred_at,
        )
        .where(Evidence.tenant_id == tenant_id, Evidence.voided.is_(False))
        .order_by(
            Evidence.person_id, Evidence.skill_id, Evidence.occurred_at, Evidence.id
        )
    ).all()
    if not rows:
        return None
    people = np.array([r[0] for r in rows], dtype=np.int64)
    skill_ids = np.array([r[1] for r in rows], dtype=np.int64)
    outcome = np.array([r[2] for r in rows], dtype=np.float64)
    weight = np.array([r[3] for r in rows], dtype=np.float64)
    epoch = min(r[4] for r in rows)
    t_days = np.array(
        [(r[4] - epoch).total_seconds() / SECONDS_PER_DAY for r in rows],
        dtype=np.float64,
    )
    unique_skills, skill_index = np.unique(skill_ids, return_inverse=True)
    _, learner_index = np.unique(people, return_inverse=True)
    log = ResponseLog.from_arrays(
        learner_index,
        skill_index,
        outcome,
        t_days,
        weight=np.clip(weight, 0.0, None),
        n_skills=int(unique_skills.shape[0]),
    )
    return log, [int(s) for s in unique_skills], int(np.unique(people).shape[0])


def fit_skill_params(
    session: Session, *, tenant_id: int, now: dt.datetime | None = None
) -> FitSummary:
    """Refit one tenant's per-skill parameters from its evidence and upsert them.

    Outcomes >= 0.5 count as correct; ``weight`` tempers each response's likelihood
    and scales its share of the expected counts. Flushes, never commits.
    """
    fitted_at = now or utcnow()
    loaded = _load_log(session, tenant_id)
    if loaded is None or len(loaded[0]) < MIN_RESPONSES:
        n = 0 if loaded is None else len(loaded[0])
        return FitSummary(
            tenant_id=tenant_id,
            fitted=False,
            reason=f"{n} responses; at least {MIN_RESPONSES} needed (defaults kept)",
            n_observations=n,
            n_learners=0 if loaded is None else loaded[2],
            n_skills=0 if loaded is None else len(loaded[1]),
            seconds=0.0,
            auc_in_sample=None,
        )
    log, skill_ids, n_learners = loaded
    model = fit_model(log)
    auc: float | None = None
    if 0.0 < float(log.correct.mean()) < 1.0:
        auc = float(roc_auc_score(log.correct, predict_one_step(model, log)))
    existing = {
        row.skill_id: row
        for row in session.scalars(
            select(SkillParams).where(
                SkillParams.tenant_id == tenant_id,
                SkillParams.skill_id.in_(skill_ids),
            )
        )
    }
    pooled = model.bkt.pooled
    shared_metrics: dict[str, Any] = {
        "pooled": asdict(pooled),
        "ability": model.ability.to_dict(),
        "iterations": model.bkt.iterations,
        "converged": model.bkt.converged,
        "fit_seconds": round(model.seconds, 4),
        "n_learners": n_learners,
        "auc_in_sample": auc,
    }
    for index, skill_id in enumerate(skill_ids):
        params = model.bkt.params.params(index).clipped()
        n_obs = int(model.bkt.n_observations[index])
        metrics = {
            **shared_metrics,
            "log_likelihood": float(model.bkt.log_likelihood[index]),
            "shrunk_to_pooled": n_obs < FEW_RESPONSES,
        }
        row = existing.get(skill_id)
        if row is None:
            row = SkillParams(tenant_id=tenant_id, skill_id=skill_id)
            session.add(row)
        row.prior = params.prior
        row.learn = params.learn
        row.guess = params.guess
        row.slip = params.slip
        row.forget_per_day = params.forget_per_day
        row.n_observations = n_obs
        row.metrics = metrics
        row.fitted_at = fitted_at
    session.flush()
    return FitSummary(
        tenant_id=tenant_id,
        fitted=True,
        reason="fitted",
        n_observations=len(log),
        n_learners=n_learners,
        n_skills=len(skill_ids),
        seconds=model.seconds,
        auc_in_sample=auc,
    )
