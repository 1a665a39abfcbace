"""Integration: mentor candidates and pairings, and the "reviewed" mark, on a real database."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive.core.learner_types import SkillState
from adaptive.learner_store import load_learner, save_skill
from adaptive.mentors import (
    PairingRefused,
    active_pairings,
    mentor_candidates,
    pair_mentor,
    revoke_pairing,
)
from adaptive.next_step import next_step
from adaptive.overrides import active_overrides, set_override
from adaptive.visibility import NotVisibleError
from lti_tool.infra.models import AuditEntry
from tests.factories import make_catalogue, make_person, make_tenant

NOW = dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC)
N_LEVELS = 6


def _at_level(session: Session, tenant_id: int, person_id: int, **levels: int) -> None:
    """Store a model that is sure of ``level`` on each skill id (given as s<id>)."""
    state = load_learner(
        session, tenant_id=tenant_id, person_id=person_id, n_levels=N_LEVELS
    )
    for key, level in levels.items():
        probs = np.full(N_LEVELS, 0.001)
        probs[level] = 1.0 - 0.001 * (N_LEVELS - 1)
        skill_id = int(key[1:])
        state.model.states[skill_id] = SkillState(
            probs=probs, updated_at=NOW, n_evidence=10, weight_evidence=10.0
        )
        save_skill(session, state, skill_id, evidence_at=NOW)
    session.flush()


@pytest.fixture
def world(db_session: Session) -> dict[str, Any]:
    tenant = make_tenant(db_session, "acme")
    other = make_tenant(db_session, "globex")
    cat = make_catalogue(db_session, None)
    a = cat["a"].id
    people = {
        name: make_person(db_session, tenant, name)
        for name in ("learner", "expert", "middling", "novice")
    }
    stranger = make_person(db_session, other, "stranger")
    _at_level(db_session, tenant.id, people["expert"].id, **{f"s{a}": 4})
    _at_level(db_session, tenant.id, people["middling"].id, **{f"s{a}": 2})
    _at_level(db_session, tenant.id, people["novice"].id, **{f"s{a}": 0})
    # Another tenant's expert: never a candidate here.
    _at_level(db_session, other.id, stranger.id, **{f"s{a}": 5})
    return {"tenant": tenant, "other": other, "stranger": stranger, **people, **cat}


def _candidates(session: Session, w: dict[str, Any], level: int) -> list[str]:
    found = mentor_candidates(
        session,
        tenant_id=w["tenant"].id,
        learner_id=w["learner"].id,
        levels={w["a"].id: level},
        n_levels=N_LEVELS,
        now=NOW,
    )
    return [c.name for c in found[w["a"].id]]


def test_candidates_are_colleagues_at_or_above_the_level_in_the_same_tenant(
    db_session: Session, world: dict[str, Any]
) -> None:
    assert _candidates(db_session, world, 2) == ["expert", "middling"]
    assert _candidates(db_session, world, 3) == ["expert"]
    assert _candidates(db_session, world, 5) == []


def test_the_learner_is_never_their_own_candidate(
    db_session: Session, world: dict[str, Any]
) -> None:
    _at_level(
        db_session, world["tenant"].id, world["learner"].id, **{f"s{world['a'].id}": 5}
    )
    assert "learner" not in _candidates(db_session, world, 1)


def _pair(session: Session, w: dict[str, Any], mentor: str, level: int = 3) -> Any:
    return pair_mentor(
        session,
        tenant_id=w["tenant"].id,
        learner_id=w["learner"].id,
        mentor_id=w[mentor].id,
        skill_id=w["a"].id,
        level=level,
        n_levels=N_LEVELS,
        actor="lti:1:99",
        note="Shadow an on-call shift",
        now=NOW,
    )


def test_a_pairing_is_stored_audited_listed_and_revoked_once(
    db_session: Session, world: dict[str, Any]
) -> None:
    row = _pair(db_session, world, "expert")

    listed = active_pairings(
        db_session, tenant_id=world["tenant"].id, learner_ids=[world["learner"].id]
    )
    assert [(p.mentor_name, p.skill_name, p.note) for p in listed] == [
        ("expert", "Alerts", "Shadow an on-call shift")
    ]
    for _ in range(2):
        revoke_pairing(
            db_session,
            tenant_id=world["tenant"].id,
            pairing_id=row.id,
            actor="lti:1:99",
            now=NOW,
        )
    actions = db_session.scalars(
        select(AuditEntry.action).where(AuditEntry.action.like("mentor_pairing.%"))
    ).all()
    assert sorted(actions) == ["mentor_pairing.create", "mentor_pairing.revoke"]
    assert (
        active_pairings(
            db_session,
            tenant_id=world["tenant"].id,
            learner_ids=[world["learner"].id],
        )
        == []
    )


def test_a_pairing_is_refused_below_the_level_twice_or_across_tenants(
    db_session: Session, world: dict[str, Any]
) -> None:
    with pytest.raises(PairingRefused, match="not at the learner's target"):
        _pair(db_session, world, "middling")
    _pair(db_session, world, "expert")
    with pytest.raises(PairingRefused, match="already paired"):
        _pair(db_session, world, "expert")
    with pytest.raises(NotVisibleError):
        _pair(db_session, world, "stranger")
    with pytest.raises(NotVisibleError):
        revoke_pairing(
            db_session,
            tenant_id=world["other"].id,
            pairing_id=active_pairings(
                db_session,
                tenant_id=world["tenant"].id,
                learner_ids=[world["learner"].id],
            )[0].id,
            actor="lti:2:1",
            now=NOW,
        )


def test_reviewed_is_audited_and_changes_no_decision(
    db_session: Session, world: dict[str, Any]
) -> None:
    tenant_id, person_id = world["tenant"].id, world["learner"].id
    module_id = world["module"].id
    before = next_step(
        db_session,
        tenant_id=tenant_id,
        person_id=person_id,
        module_id=module_id,
        now=NOW,
    )

    set_override(
        db_session,
        tenant_id=tenant_id,
        person_id=person_id,
        kind="reviewed",
        actor="lti:1:99",
        module_id=module_id,
        note="Looked fine",
        now=NOW,
    )

    after = next_step(
        db_session,
        tenant_id=tenant_id,
        person_id=person_id,
        module_id=module_id,
        now=NOW,
    )
    assert after == before
    folded = active_overrides(
        db_session, tenant_id=tenant_id, person_id=person_id, module_id=module_id
    )
    assert not folded.pinned and not folded.skipped_skills
    assert not folded.target_changes and not folded.added_targets
    assert db_session.scalars(
        select(AuditEntry.action).where(AuditEntry.action == "path_override.reviewed")
    ).all() == ["path_override.reviewed"]
