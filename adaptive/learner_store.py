"""Adaptive services: a learner's model and refresher cards, loaded from rows and saved back.

The rows are the learner's stored state; the model is rebuilt from them on every
request (cheap) and written back skill by skill after evidence is applied.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import BindParameter, Integer, and_, bindparam, select
from sqlalchemy.orm import Session

from adaptive.core.learner import LearnerModel
from adaptive.core.learner_types import ParamSet, SkillState
from adaptive.core.refresh import RefreshState
from adaptive.models import LearnerProfile, LearnerSkillState
from adaptive.param_store import load_params


@dataclass
class LearnerState:
    """A learner's loaded model, refresher cards and the rows they came from."""

    profile: LearnerProfile
    model: LearnerModel
    refresh: dict[int, RefreshState]
    rows: dict[int, LearnerSkillState]


# What every learner page reads, built once: reusing a statement object skips
# rebuilding it and recomputing its compiled-cache key on each request.
_TENANT: BindParameter[int] = bindparam("tenant_id", type_=Integer)
_PERSON: BindParameter[int] = bindparam("person_id", type_=Integer)
_PROFILE_WITH_SKILLS_OF = (
    select(LearnerProfile, LearnerSkillState)
    .outerjoin(
        LearnerSkillState,
        and_(
            LearnerSkillState.tenant_id == LearnerProfile.tenant_id,
            LearnerSkillState.person_id == LearnerProfile.person_id,
        ),
    )
    .where(LearnerProfile.tenant_id == _TENANT, LearnerProfile.person_id == _PERSON)
)
_SKILL_STATES_OF = select(LearnerSkillState).where(
    LearnerSkillState.tenant_id == _TENANT, LearnerSkillState.person_id == _PERSON
)


_PROFILE_FOR_UPDATE = (
    select(LearnerProfile.id)
    .where(LearnerProfile.tenant_id == _TENANT, LearnerProfile.person_id == _PERSON)
    .with_for_update()
)


def lock_learner(session: Session, *, tenant_id: int, person_id: int) -> None:
    """Hold the learner's profile row until this transaction ends.

    A model update reads the learner's skill rows, applies evidence and writes them
    back; two of one learner's answers at once (two tabs, a retry racing its first
    send) would otherwise both insert a skill's first row (a unique violation) or
    overwrite each other's update. Taken first, the lock makes the second wait for
    the first to commit, then read what it wrote. PostgreSQL only: SQLite has one
    writer at a time anyway, and SQLAlchemy renders no ``FOR UPDATE`` for it.
    """
    session.execute(
        _PROFILE_FOR_UPDATE, {"tenant_id": tenant_id, "person_id": person_id}
    )


def load_learner(
    session: Session,
    *,
    tenant_id: int,
    person_id: int,
    n_levels: int = 6,
    params: ParamSet | None = None,
) -> LearnerState:
    """Build the learner model from stored rows (creating the profile on first use)."""
    who = {"tenant_id": tenant_id, "person_id": person_id}
    # The profile and its skill rows in one round trip (no skill rows: one NULL row).
    joined = session.execute(_PROFILE_WITH_SKILLS_OF, who).all()
    if joined:
        profile: LearnerProfile = joined[0][0]
        skill_rows = [row[1] for row in joined if row[1] is not None]
    else:
        profile = LearnerProfile(
            tenant_id=tenant_id,
            person_id=person_id,
            ability=0.0,
            n_ability=0,
            last_evidence_id=0,
        )
        session.add(profile)
        session.flush()
        skill_rows = list(session.scalars(_SKILL_STATES_OF, who))
    rows = {r.skill_id: r for r in skill_rows}
    states: dict[int, SkillState] = {}
    refresh: dict[int, RefreshState] = {}
    for skill_id, row in rows.items():
        probs = list(row.level_probs)
        if len(probs) != n_levels:
            continue  # the scale changed: the old posterior no longer means anything
        states[skill_id] = SkillState.from_dict(
            {
                "probs": probs,
                "updated_at": row.updated_at.isoformat(),
                "n_evidence": row.n_evidence,
                "weight_evidence": row.weight_evidence,
            }
        )
        if row.fsrs_card:
            refresh[skill_id] = RefreshState.from_dict(row.fsrs_card)
    model = LearnerModel(
        n_levels=n_levels,
        params=params
        if params is not None
        else load_params(session, tenant_id=tenant_id),
        ability=profile.ability,
        n_ability=profile.n_ability,
        states=states,
    )
    return LearnerState(profile=profile, model=model, refresh=refresh, rows=rows)


def save_skill(
    session: Session,
    state: LearnerState,
    skill_id: int,
    *,
    evidence_at: dt.datetime | None,
) -> None:
    """Write one skill's posterior and refresher card back to its row."""
    skill_state = state.model.states.get(skill_id)
    row = state.rows.get(skill_id)
    card = state.refresh.get(skill_id)
    if skill_state is None and card is None:
        return
    if row is None:
        row = LearnerSkillState(
            tenant_id=state.profile.tenant_id,
            person_id=state.profile.person_id,
            skill_id=skill_id,
        )
        session.add(row)
        state.rows[skill_id] = row
    if skill_state is not None:
        est = state.model.estimate(skill_id, 1, skill_state.updated_at)
        row.p_known = est.p_target
        row.level = est.level
        row.level_probs = [float(p) for p in skill_state.probs]
        row.updated_at = skill_state.updated_at
        row.n_evidence = skill_state.n_evidence
        row.weight_evidence = skill_state.weight_evidence
    if evidence_at is not None:
        row.last_evidence_at = evidence_at
    if card is not None:
        row.fsrs_card = card.to_dict()
        row.next_refresh_at = card.due
        if row.mastered_at is None:
            row.mastered_at = evidence_at or card.card.last_review
