"""Adaptive services: learner progress per target skill, and a cohort's capability.

Capability is the share of learners *at target*, not completion; the cohort report
loads roles, profiles and skill states for everyone at once, not per learner.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from adaptive.core.catalogue import RoleInfo
from adaptive.core.learner import LearnerModel
from adaptive.core.learner_types import ParamSet, SkillEstimate, SkillState
from adaptive.core.refresh import RefreshState
from adaptive.core.skill_progress import (
    PolicyConfig,
    SkillProgress,
    effective_targets,
    progress_report,
)
from adaptive.learner_context import InModule, learner_in_module
from adaptive.models import (
    Framework,
    LearnerProfile,
    LearnerRole,
    LearnerSkillState,
    RoleProfile,
    RoleTarget,
)
from adaptive.module_snapshots import ModuleSnapshot, load_module
from adaptive.overrides import active_overrides
from adaptive.param_store import load_params
from adaptive.visibility import visible_frameworks


def learner_progress(
    session: Session,
    *,
    tenant_id: int,
    person_id: int,
    module_id: int,
    now: dt.datetime,
    loaded: InModule | None = None,
) -> list[dict[str, Any]]:
    """Per target skill: probability, level, uncertainty, target, status (learner view).

    ``loaded``: the caller's ``learner_in_module`` of this learner and module, if any.
    """
    snapshot, state, role = loaded or learner_in_module(
        session, tenant_id=tenant_id, person_id=person_id, module_id=module_id
    )
    overrides = active_overrides(
        session, tenant_id=tenant_id, person_id=person_id, module_id=module_id
    )
    targets = effective_targets(dict(role.targets) if role else {}, overrides)
    rows = progress_report(
        snapshot.catalog,
        state.model,
        targets,
        now,
        refresh=state.refresh,
        skipped=overrides.skipped_skills,
    )
    return [_progress_row(snapshot, r) for r in rows]


def cohort_progress(
    session: Session,
    *,
    tenant_id: int,
    module_id: int,
    person_ids: Iterable[int],
    now: dt.datetime,
) -> dict[int, list[dict[str, Any]]]:
    """``learner_progress`` for a whole cohort, from stored state only (reads only).

    Roles, models and refresher cards load in a few queries for everyone, as
    ``cohort_capability`` reads them, so a manager's table and bars agree; evidence
    not yet folded into a learner's model counts from their next page view.
    """
    snapshot = load_module(session, tenant_id=tenant_id, module_id=module_id)
    people = list(dict.fromkeys(person_ids))
    roles = _roles_of(
        session, tenant_id=tenant_id, person_ids=people, snapshot=snapshot
    )
    models = _models_of(
        session,
        tenant_id=tenant_id,
        person_ids=people,
        n_levels=snapshot.catalog.n_levels,
        params=load_params(session, tenant_id=tenant_id),
    )
    cards: dict[int, dict[int, RefreshState]] = {p: {} for p in people}
    for chunk in _chunks(people):
        for person_id, skill_id, card in session.execute(
            select(
                LearnerSkillState.person_id,
                LearnerSkillState.skill_id,
                LearnerSkillState.fsrs_card,
            ).where(
                LearnerSkillState.tenant_id == tenant_id,
                LearnerSkillState.person_id.in_(chunk),
            )
        ):
            if card:
                cards[person_id][skill_id] = RefreshState.from_dict(card)
    out: dict[int, list[dict[str, Any]]] = {}
    for person_id in people:
        role = roles[person_id]
        # Cheap for most learners: only those with an override are looked up.
        overrides = active_overrides(
            session, tenant_id=tenant_id, person_id=person_id, module_id=module_id
        )
        targets = effective_targets(dict(role.targets) if role else {}, overrides)
        rows = progress_report(
            snapshot.catalog,
            models[person_id],
            targets,
            now,
            refresh=cards[person_id],
            skipped=overrides.skipped_skills,
        )
        out[person_id] = [_progress_row(snapshot, r) for r in rows]
    return out


def _progress_row(snapshot: ModuleSnapshot, r: SkillProgress) -> dict[str, Any]:
    return {
        "skill_id": r.skill_id,
        "name": r.name,
        "target": r.target,
        "target_name": snapshot.catalog.level_name(r.target),
        "target_source": r.target_source,
        "status": r.status,
        "p_target": round(r.estimate.p_target, 4),
        "level": r.estimate.level,
        "level_name": snapshot.catalog.level_name(r.estimate.level),
        "expected_level": round(r.estimate.expected_level, 3),
        "uncertainty": round(r.estimate.uncertainty, 3),
        "n_evidence": r.estimate.n_evidence,
        "next_refresh_at": r.next_refresh_at.isoformat() if r.next_refresh_at else None,
    }


def _chunks(values: Sequence[int], size: int = 500) -> Iterator[Sequence[int]]:
    """Bounded IN lists (SQLite caps bound parameters)."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _roles_of(
    session: Session,
    *,
    tenant_id: int,
    person_ids: Sequence[int],
    snapshot: ModuleSnapshot,
) -> dict[int, RoleInfo | None]:
    """``learner_role`` for many learners in a few queries (not one per learner)."""
    assigned: dict[int, LearnerRole] = {}
    for chunk in _chunks(person_ids):
        rows = session.scalars(
            select(LearnerRole)
            .where(
                LearnerRole.tenant_id == tenant_id,
                LearnerRole.person_id.in_(chunk),
                or_(
                    LearnerRole.module_id == snapshot.module_id,
                    LearnerRole.module_id.is_(None),
                ),
            )
            .order_by(LearnerRole.module_id.is_(None), LearnerRole.id)
        )
        for row in rows:
            assigned.setdefault(row.person_id, row)
    role_ids = sorted({row.role_id for row in assigned.values()})
    roles: dict[int, RoleInfo] = {}
    if role_ids:
        visible = session.scalars(
            select(RoleProfile)
            .join(Framework, Framework.id == RoleProfile.framework_id)
            .where(RoleProfile.id.in_(role_ids), visible_frameworks(tenant_id))
        ).all()
        targets: dict[int, dict[int, int]] = {r.id: {} for r in visible}
        for t in session.scalars(
            select(RoleTarget).where(RoleTarget.role_id.in_(list(targets)))
        ):
            targets[t.role_id][t.skill_id] = t.target_level
        roles = {
            r.id: RoleInfo(r.id, r.name, targets[r.id], r.horizon_days) for r in visible
        }
    out: dict[int, RoleInfo | None] = {}
    for person_id in person_ids:
        choice = assigned.get(person_id)
        found = roles.get(choice.role_id) if choice is not None else None
        out[person_id] = found if found is not None else snapshot.role
    return out


def stored_skill_state(row: LearnerSkillState, n_levels: int) -> SkillState | None:
    """A stored skill row as the model's state; None when the scale has changed since
    (the old posterior no longer means anything)."""
    probs = list(row.level_probs)
    if len(probs) != n_levels:
        return None
    return SkillState(
        probs=np.asarray(probs, dtype=np.float64),
        updated_at=row.updated_at,
        n_evidence=row.n_evidence,
        weight_evidence=row.weight_evidence,
    )


def _models_of(
    session: Session,
    *,
    tenant_id: int,
    person_ids: Sequence[int],
    n_levels: int,
    params: ParamSet,
) -> dict[int, LearnerModel]:
    """Stored learner models for many learners: profiles and skill states in one
    query each (per 500 learners); reads only, so no profile is created."""
    ability: dict[int, tuple[float, int]] = {}
    states: dict[int, dict[int, SkillState]] = {p: {} for p in person_ids}
    for chunk in _chunks(person_ids):
        for profile in session.scalars(
            select(LearnerProfile).where(
                LearnerProfile.tenant_id == tenant_id,
                LearnerProfile.person_id.in_(chunk),
            )
        ):
            ability[profile.person_id] = (profile.ability, profile.n_ability)
        for row in session.scalars(
            select(LearnerSkillState).where(
                LearnerSkillState.tenant_id == tenant_id,
                LearnerSkillState.person_id.in_(chunk),
            )
        ):
            state = stored_skill_state(row, n_levels)
            if state is not None:
                states[row.person_id][row.skill_id] = state
    return {
        person_id: LearnerModel(
            n_levels=n_levels,
            params=params,
            ability=ability.get(person_id, (0.0, 0))[0],
            n_ability=ability.get(person_id, (0.0, 0))[1],
            states=states[person_id],
        )
        for person_id in person_ids
    }


def is_at_target(estimate: SkillEstimate, config: PolicyConfig) -> bool:
    """Whether a report counts a learner as at (or above) the estimate's target level.

    The one rule behind the cohort's capability and the mentors a manager is offered.
    """
    return (
        estimate.p_target >= config.mastery
        and estimate.n_evidence >= config.min_evidence
    )


def cohort_capability(
    session: Session,
    *,
    tenant_id: int,
    module_id: int,
    person_ids: Iterable[int],
    now: dt.datetime,
    config: PolicyConfig | None = None,
) -> list[dict[str, Any]]:
    """Per target skill: the share of learners *at target* (capability, not completion).

    Roles, profiles and skill states are loaded for the whole cohort at once.
    """
    cfg = config or PolicyConfig()
    snapshot = load_module(session, tenant_id=tenant_id, module_id=module_id)
    params = load_params(session, tenant_id=tenant_id)
    people = list(dict.fromkeys(person_ids))
    roles = _roles_of(
        session, tenant_id=tenant_id, person_ids=people, snapshot=snapshot
    )
    models = _models_of(
        session,
        tenant_id=tenant_id,
        person_ids=people,
        n_levels=snapshot.catalog.n_levels,
        params=params,
    )
    seen: dict[int, list[tuple[bool, float]]] = {}
    targets_seen: dict[int, int] = {}
    for person_id in people:
        role = roles[person_id]
        if role is None:
            continue
        model = models[person_id]
        for skill_id, target in role.targets.items():
            est = model.estimate(skill_id, target, now)
            at_target = is_at_target(est, cfg)
            seen.setdefault(skill_id, []).append((at_target, est.p_target))
            targets_seen[skill_id] = target
    out = []
    for skill_id in sorted(seen, key=snapshot.catalog.skill_name):
        rows = seen[skill_id]
        hits = sum(1 for flag, _ in rows if flag)
        out.append(
            {
                "skill_id": skill_id,
                "name": snapshot.catalog.skill_name(skill_id),
                "target": targets_seen[skill_id],
                "learners": len(rows),
                "at_target": hits,
                "share_at_target": round(hits / len(rows), 4),
                "mean_p_target": round(sum(p for _, p in rows) / len(rows), 4),
            }
        )
    return out
