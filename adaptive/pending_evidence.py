"""Adaptive services: fold evidence not yet applied (ours and xAPI's) into a learner's model.

Each applied row may also schedule a refresher (see ``adaptive.refreshers``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BindParameter, Integer, bindparam, select
from sqlalchemy.orm import Session

from adaptive.core.fitted_items import FittedItem
from adaptive.core.learner_types import Observation, UpdateResult
from adaptive.core.refresh import RefreshScheduler
from adaptive.core.skill_progress import PolicyConfig
from adaptive.item_params import evidence_parameters
from adaptive.learner_store import LearnerState, load_learner, save_skill
from adaptive.models import Activity, Evidence
from adaptive.refreshers import schedule_after_evidence
from adaptive.roles import targets_by_skill

#: Evidence from a placement answer: measured, not taught.
RULE_PLACEMENT = "placement"
#: What a placement answer says, more weakly, about a related skill: measured, not
#: taught, and kept out of the cross-skill ability (the direct answer moved it).
RULE_PLACEMENT_RELATED = "placement_related"
_TENANT: BindParameter[int] = bindparam("tenant_id", type_=Integer)
_PERSON: BindParameter[int] = bindparam("person_id", type_=Integer)
_EVIDENCE_AFTER = (
    select(Evidence)
    .where(
        Evidence.tenant_id == _TENANT,
        Evidence.person_id == _PERSON,
        Evidence.id > bindparam("after_id"),
    )
    .order_by(Evidence.id)
)


def apply_pending_evidence(
    session: Session,
    *,
    tenant_id: int,
    person_id: int,
    state: LearnerState | None = None,
    scheduler: RefreshScheduler | None = None,
    config: PolicyConfig | None = None,
    learn_scale: float = 1.0,
) -> list[UpdateResult]:
    """Fold every not-yet-applied Evidence row (ours and xAPI's) into the learner state.

    Rows are applied in id order, so a job and a request cannot apply one twice (the
    profile's ``last_evidence_id`` moves forward in the same transaction). Failing xAPI
    evidence on a skill with a refresher card is drift: it brings the refresher forward.
    """
    st = state or load_learner(session, tenant_id=tenant_id, person_id=person_id)
    sched = scheduler or RefreshScheduler()
    cfg = config or PolicyConfig()
    pending = session.scalars(
        _EVIDENCE_AFTER,
        {
            "tenant_id": tenant_id,
            "person_id": person_id,
            "after_id": st.profile.last_evidence_id,
        },
    ).all()
    if not pending:
        return []
    targets = targets_by_skill(session, tenant_id=tenant_id, person_id=person_id)
    # Rows that carry their observation (an attempt's, a placement answer's) need
    # nothing more; the others observe at their activity's difficulty, or with the
    # question group's fitted values.
    plain = {e.activity_id for e in pending if e.activity_id and e.difficulty is None}
    difficulty = (
        {
            a.id: a.difficulty
            for a in session.scalars(select(Activity).where(Activity.id.in_(plain)))
        }
        if plain
        else {}
    )
    fitted = (
        evidence_parameters(session, tenant_id=tenant_id, activity_ids=difficulty)
        if difficulty
        else {}
    )
    n_levels = st.model.n_levels
    results: list[UpdateResult] = []
    touched: dict[int, dt.datetime] = {}
    for ev in pending:
        st.profile.last_evidence_id = ev.id
        if ev.voided:
            continue
        level = min(max(ev.level or 1, 1), n_levels - 1)
        obs = _observation(
            ev,
            level,
            fitted.get((ev.activity_id or -1, ev.skill_id, level)),
            difficulty.get(ev.activity_id or -1, 0.0),
            learn_scale,
        )
        results.append(st.model.observe(obs))
        touched[ev.skill_id] = ev.occurred_at
        schedule_after_evidence(
            st,
            ev,
            obs,
            target=targets.get(ev.skill_id),
            scheduler=sched,
            config=cfg,
        )
    for skill_id, at in touched.items():
        save_skill(session, st, skill_id, evidence_at=at)
    st.profile.ability = st.model.ability
    st.profile.n_ability = st.model.n_ability
    session.flush()
    return results


def observation_row(
    obs: Observation,
    *,
    tenant_id: int,
    person_id: int,
    activity_id: int | None,
    statement_id: str | None = None,
    rule_key: str | None = None,
) -> Evidence:
    """An evidence row that stands for ``obs`` exactly (``_stored_observation``)."""
    return Evidence(
        tenant_id=tenant_id,
        person_id=person_id,
        skill_id=obs.skill_id,
        outcome=obs.outcome,
        weight=obs.weight,
        level=obs.level,
        source="pathwise",
        activity_id=activity_id,
        statement_id=statement_id,
        rule_key=rule_key,
        occurred_at=obs.at,
        difficulty=obs.difficulty,
        guess=obs.guess,
        slip=obs.slip,
        learn_scale=obs.learn_scale,
        ability_scale=obs.ability_scale,
    )


def _scales(ev: Evidence, learn: float, ability: float) -> tuple[float, float]:
    """A placement answer measures, never teaches; a related skill's one is also kept
    out of the cross-skill ability (the direct answer moved it)."""
    if ev.rule_key == RULE_PLACEMENT:
        return 0.0, ability
    if ev.rule_key == RULE_PLACEMENT_RELATED:
        return 0.0, 0.0
    return learn, ability


def _observation(
    ev: Evidence,
    level: int,
    fit: FittedItem | None,
    difficulty: float,
    learn_scale: float,
) -> Observation:
    """The row's own observation when it carries one (``observation_row``); else at
    the question group's fitted values, or the activity's difficulty."""
    if ev.difficulty is not None:
        own = FittedItem(ev.difficulty, ev.guess, ev.slip)
        learn = 1.0 if ev.learn_scale is None else ev.learn_scale
        ability = 1.0 if ev.ability_scale is None else ev.ability_scale
    else:
        own = fit or FittedItem(difficulty)
        learn, ability = learn_scale, 1.0
    learn, ability = _scales(ev, learn, ability)
    return Observation(
        skill_id=ev.skill_id,
        level=level,
        outcome=min(max(ev.outcome, 0.0), 1.0),
        at=ev.occurred_at,
        weight=max(ev.weight, 0.0),
        difficulty=own.difficulty,
        guess=own.guess,
        slip=own.slip,
        learn_scale=learn,
        ability_scale=ability,
    )
