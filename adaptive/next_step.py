"""Adaptive services: where the learner's next step is chosen, with its reason.

This loads what the decision needs (module, model, role, attempts, overrides) and
hands it to the pure engine, ``adaptive.core.engine.Engine.next_step`` (the same call
the benches make).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import BindParameter, Integer, bindparam, select
from sqlalchemy.orm import Session

from adaptive.core.catalogue import Catalog
from adaptive.core.decisions import AttemptRecord, Recommendation
from adaptive.core.engine import Engine
from adaptive.core.mastery import MasteryConfig
from adaptive.learner_context import InModule, learner_in_module
from adaptive.models import Attempt
from adaptive.overrides import active_overrides

# The mastery loop reads the learner's whole history in the module's skills; this
# only bounds a pathological one.
HISTORY_WINDOW = 5000
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


def attempt_history(
    session: Session, *, tenant_id: int, person_id: int, catalog: Catalog
) -> list[AttemptRecord]:
    """The learner's last attempts, oldest first, with the skills each practised."""
    rows = session.execute(
        _RECENT_ATTEMPTS_OF, {"tenant_id": tenant_id, "person_id": person_id}
    ).all()
    return [
        history_record(
            catalog,
            row.activity_id,
            at=row.finished_at or row.started_at,
            score=row.score,
            refresher=row.refresher,
        )
        for row in reversed(rows)
    ]


def history_record(
    catalog: Catalog,
    activity_id: int,
    *,
    at: dt.datetime,
    score: float | None,
    refresher: bool,
) -> AttemptRecord:
    """One attempt as the engine's history holds it, with the skills it practised."""
    info = catalog.activities.get(activity_id)
    return AttemptRecord(
        activity_id=activity_id,
        at=at,
        score=score,
        skill_ids=tuple(lk.skill_id for lk in info.skills) if info else (),
        refresher=refresher,
    )


def next_step(
    session: Session,
    *,
    tenant_id: int,
    person_id: int,
    module_id: int,
    now: dt.datetime,
    time_budget_min: float | None = None,
    config: MasteryConfig | None = None,
    loaded: InModule | None = None,
) -> Recommendation:
    """The learner's next step in this module with its reason (see adaptive.core.engine).

    ``loaded`` is the caller's ``learner_in_module`` of this learner and module, when
    it has one already (it is not read again).
    """
    return next_steps(
        session,
        tenant_id=tenant_id,
        person_id=person_id,
        module_id=module_id,
        now=now,
        time_budgets=(time_budget_min,),
        config=config,
        loaded=loaded,
    )[0]


def next_steps(
    session: Session,
    *,
    tenant_id: int,
    person_id: int,
    module_id: int,
    now: dt.datetime,
    time_budgets: Sequence[float | None],
    config: MasteryConfig | None = None,
    loaded: InModule | None = None,
    history: Sequence[AttemptRecord] | None = None,
) -> list[Recommendation]:
    """The next step under each of ``time_budgets``, from one load of the learner.

    An answer needs two when the learner set a time budget: the step that fits it
    (shown to them) and the step without it (the gradebook's comment). Reading the
    model, history and overrides once serves both; the engine decides each.
    ``history`` is the caller's ``attempt_history`` when it has it already.
    """
    snapshot, state, role = loaded or learner_in_module(
        session, tenant_id=tenant_id, person_id=person_id, module_id=module_id
    )
    engine = Engine(snapshot.catalog, params=state.model.params, config=config)
    learner = engine.start(
        dict(role.targets) if role else {},
        model=state.model,
        history=attempt_history(
            session, tenant_id=tenant_id, person_id=person_id, catalog=snapshot.catalog
        )
        if history is None
        else history,
        overrides=active_overrides(
            session, tenant_id=tenant_id, person_id=person_id, module_id=module_id
        ),
    )
    return [
        engine.next_step(learner, now, time_budget_min=budget)
        for budget in time_budgets
    ]
