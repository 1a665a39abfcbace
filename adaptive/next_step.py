"""Adaptive services: where the learner's next step is chosen, with its reason.

This loads what the decision needs (module, model, role, recent attempts, overrides)
and hands it to the pure choice, ``adaptive.core.policy.next_step``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BindParameter, Integer, bindparam, select
from sqlalchemy.orm import Session

from adaptive.core.catalogue import Catalog
from adaptive.core.policy import (
    AttemptRecord,
    PolicyConfig,
    PolicyInput,
    Recommendation,
)
from adaptive.core.policy import next_step as decide_next_step
from adaptive.learner_context import learner_in_module
from adaptive.models import Attempt
from adaptive.overrides import active_overrides

HISTORY_WINDOW = 20
_TENANT: BindParameter[int] = bindparam("tenant_id", type_=Integer)
_PERSON: BindParameter[int] = bindparam("person_id", type_=Integer)
# Read-only projections (no entities to build): the decision never writes these.
_RECENT_ATTEMPTS_OF = (
    select(
        Attempt.activity_id,
        Attempt.started_at,
        Attempt.finished_at,
        Attempt.score,
        Attempt.refresher,
    )
    .where(Attempt.tenant_id == _TENANT, Attempt.person_id == _PERSON)
    .order_by(Attempt.started_at.desc(), Attempt.id.desc())
    .limit(HISTORY_WINDOW)
)


def _history(
    session: Session, *, tenant_id: int, person_id: int, catalog: Catalog
) -> list[AttemptRecord]:
    """The learner's last attempts, oldest first, with the skills each practised."""
    rows = session.execute(
        _RECENT_ATTEMPTS_OF, {"tenant_id": tenant_id, "person_id": person_id}
    ).all()
    out = []
    for row in reversed(rows):
        info = catalog.activities.get(row.activity_id)
        skills = tuple(lk.skill_id for lk in info.skills) if info else ()
        out.append(
            AttemptRecord(
                activity_id=row.activity_id,
                at=row.finished_at or row.started_at,
                score=row.score,
                skill_ids=skills,
                refresher=row.refresher,
            )
        )
    return out


def next_step(
    session: Session,
    *,
    tenant_id: int,
    person_id: int,
    module_id: int,
    now: dt.datetime,
    time_budget_min: float | None = None,
    config: PolicyConfig | None = None,
) -> Recommendation:
    """The learner's next step in this module with its reason (see adaptive.core.policy)."""
    snapshot, state, role = learner_in_module(
        session, tenant_id=tenant_id, person_id=person_id, module_id=module_id
    )
    return decide_next_step(
        PolicyInput(
            catalog=snapshot.catalog,
            role_targets=dict(role.targets) if role else {},
            model=state.model,
            now=now,
            refresh=state.refresh,
            history=_history(
                session,
                tenant_id=tenant_id,
                person_id=person_id,
                catalog=snapshot.catalog,
            ),
            overrides=active_overrides(
                session, tenant_id=tenant_id, person_id=person_id, module_id=module_id
            ),
            time_budget_min=time_budget_min,
            config=config or PolicyConfig(),
        )
    )
