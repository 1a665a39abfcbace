"""Adaptive services: mentors for a skill, and a manager's pairing of learner and mentor.

A colleague is a candidate mentor on a skill when the reports count them at or above
the learner's target level on it (``progress_reports.is_at_target``). Every pairing
and its withdrawal is audited; a withdrawn pairing is kept for the record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from adaptive.core.learner import LearnerModel
from adaptive.core.skill_progress import PolicyConfig
from adaptive.mentor_models import MentorPairing
from adaptive.models import Framework, LearnerSkillState, Skill
from adaptive.param_store import load_params
from adaptive.progress_reports import is_at_target, stored_skill_state
from adaptive.visibility import NotVisibleError, visible_frameworks
from lti_tool.infra.audit import record_audit
from lti_tool.infra.models import Person
from lti_tool.infra.tenancy import owned_by_scope

MAX_CANDIDATES = 5


class PairingRefused(ValueError):
    """A pairing the rules do not allow; the message says why, for the manager."""


@dataclass(frozen=True)
class MentorCandidate:
    """A colleague at or above a level on a skill, with how sure the model is."""

    person_id: int
    name: str
    department: str
    p_at_level: float


@dataclass(frozen=True)
class Pairing:
    """An active pairing, with the names a page shows."""

    id: int
    learner_id: int
    learner_name: str
    mentor_id: int
    mentor_name: str
    skill_id: int
    skill_name: str
    note: str
    created_by: str
    created_at: dt.datetime


def mentor_candidates(
    session: Session,
    *,
    tenant_id: int,
    learner_id: int,
    levels: Mapping[int, int],
    n_levels: int,
    now: dt.datetime,
    config: PolicyConfig | None = None,
    limit: int | None = MAX_CANDIDATES,
) -> dict[int, list[MentorCandidate]]:
    """Per skill of ``levels`` (skill id: level), colleagues in the tenant at or above
    that level on it, surest first (``limit`` of them; None for all).

    Only people with a stored state on one of the skills can qualify, so the search
    reads those skills' rows (one query), not the whole tenant's models.
    """
    cfg = config or PolicyConfig()
    found: dict[int, list[MentorCandidate]] = {skill_id: [] for skill_id in levels}
    if not levels:
        return found
    params = load_params(session, tenant_id=tenant_id)
    for person, row in session.execute(
        select(Person, LearnerSkillState)
        .join(LearnerSkillState, LearnerSkillState.person_id == Person.id)
        .where(
            LearnerSkillState.tenant_id == tenant_id,
            LearnerSkillState.skill_id.in_(sorted(levels)),
            owned_by_scope(Person.tenant_id, tenant_id),
            Person.id != learner_id,
        )
    ):
        state = stored_skill_state(row, n_levels)
        if state is None:
            continue
        # The estimate of a skill with a stored state reads only that state.
        skill_id = row.skill_id
        model = LearnerModel(n_levels=n_levels, params=params, states={skill_id: state})
        est = model.estimate(skill_id, levels[skill_id], now)
        if is_at_target(est, cfg):
            found[skill_id].append(
                MentorCandidate(
                    person_id=person.id,
                    name=person.display_name,
                    department=person.department,
                    p_at_level=round(est.p_target, 4),
                )
            )
    for candidates in found.values():
        candidates.sort(key=lambda c: (-c.p_at_level, c.name.lower(), c.person_id))
        if limit is not None:
            del candidates[limit:]
    return found


def pair_mentor(
    session: Session,
    *,
    tenant_id: int,
    learner_id: int,
    mentor_id: int,
    skill_id: int,
    level: int,
    n_levels: int,
    actor: str,
    note: str = "",
    now: dt.datetime,
) -> MentorPairing:
    """Pair ``learner_id`` with ``mentor_id`` on a skill, and audit it.

    The mentor must be a colleague in the tenant whom the reports count at or above
    ``level`` on the skill now (the page's suggestion is checked again here).

    Raises:
        NotVisibleError: the skill or a person is not the tenant's.
        PairingRefused: the mentor is not at the level, or the pair already exists.
    """
    _check_skill(session, tenant_id=tenant_id, skill_id=skill_id)
    for person_id in (learner_id, mentor_id):
        person = session.get(Person, person_id)
        if person is None or person.tenant_id != tenant_id:
            raise NotVisibleError(f"person {person_id}")
    if mentor_id == learner_id:
        raise PairingRefused("A learner cannot mentor themselves.")
    existing = session.scalars(
        select(MentorPairing).where(
            MentorPairing.tenant_id == tenant_id,
            MentorPairing.learner_id == learner_id,
            MentorPairing.mentor_id == mentor_id,
            MentorPairing.skill_id == skill_id,
            MentorPairing.revoked_at.is_(None),
        )
    ).first()
    if existing is not None:
        raise PairingRefused("These two are already paired on this skill.")
    qualified = mentor_candidates(
        session,
        tenant_id=tenant_id,
        learner_id=learner_id,
        levels={skill_id: level},
        n_levels=n_levels,
        now=now,
        limit=None,  # the chosen mentor may not be among the first few shown
    )[skill_id]
    if mentor_id not in {c.person_id for c in qualified}:
        raise PairingRefused(
            "This colleague is not at the learner's target on this skill."
        )
    row = MentorPairing(
        tenant_id=tenant_id,
        learner_id=learner_id,
        mentor_id=mentor_id,
        skill_id=skill_id,
        note=note,
        created_by=actor,
        created_at=now,
    )
    session.add(row)
    session.flush()
    record_audit(
        session,
        at=now,
        tenant_id=tenant_id,
        actor=actor,
        action="mentor_pairing.create",
        target=f"person:{learner_id}",
        details={
            "pairing_id": row.id,
            "mentor_id": mentor_id,
            "skill_id": skill_id,
            "level": level,
            "note": note,
        },
    )
    session.flush()
    return row


def revoke_pairing(
    session: Session,
    *,
    tenant_id: int,
    pairing_id: int,
    actor: str,
    now: dt.datetime,
) -> MentorPairing:
    """Withdraw a pairing (kept for the record) and audit it; once is enough."""
    row = session.get(MentorPairing, pairing_id)
    if row is None or row.tenant_id != tenant_id:
        raise NotVisibleError(f"pairing {pairing_id}")
    if row.revoked_at is not None:
        return row
    row.revoked_at = now
    record_audit(
        session,
        at=now,
        tenant_id=tenant_id,
        actor=actor,
        action="mentor_pairing.revoke",
        target=f"person:{row.learner_id}",
        details={
            "pairing_id": row.id,
            "mentor_id": row.mentor_id,
            "skill_id": row.skill_id,
        },
    )
    session.flush()
    return row


def active_pairings(
    session: Session, *, tenant_id: int, learner_ids: Collection[int]
) -> list[Pairing]:
    """The active pairings of these learners, oldest first, with names."""
    if not learner_ids:
        return []
    learner = aliased(Person)
    mentor = aliased(Person)
    rows = session.execute(
        select(MentorPairing, learner, mentor, Skill.name)
        .join(learner, learner.id == MentorPairing.learner_id)
        .join(mentor, mentor.id == MentorPairing.mentor_id)
        .join(Skill, Skill.id == MentorPairing.skill_id)
        .where(
            MentorPairing.tenant_id == tenant_id,
            MentorPairing.learner_id.in_(sorted(learner_ids)),
            MentorPairing.revoked_at.is_(None),
        )
        .order_by(MentorPairing.created_at, MentorPairing.id)
    ).all()
    return [
        Pairing(
            id=row.id,
            learner_id=row.learner_id,
            learner_name=learner_row.display_name,
            mentor_id=row.mentor_id,
            mentor_name=mentor_row.display_name,
            skill_id=row.skill_id,
            skill_name=skill_name,
            note=row.note,
            created_by=row.created_by,
            created_at=row.created_at,
        )
        for row, learner_row, mentor_row, skill_name in rows
    ]


def _check_skill(session: Session, *, tenant_id: int, skill_id: int) -> None:
    found = session.execute(
        select(Skill.id)
        .join(Framework, Framework.id == Skill.framework_id)
        .where(Skill.id == skill_id, visible_frameworks(tenant_id))
    ).scalar_one_or_none()
    if found is None:
        raise NotVisibleError(f"skill {skill_id}")
