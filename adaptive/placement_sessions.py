"""Adaptive services: the placement check: open or resume it, score answers, ask the next.

Which question to ask, and when to stop, is the pure choice in
``adaptive.core.placement``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive.core.placement import (
    PlacementConfig,
    next_placement_step,
    placement_observation,
)
from adaptive.learner_context import learner_in_module
from adaptive.learner_store import LearnerState, load_learner
from adaptive.models import Evidence, PlacementSession
from adaptive.module_snapshots import ModuleSnapshot, load_module
from adaptive.pending_evidence import apply_pending_evidence
from adaptive.roles import learner_role
from adaptive.visibility import NotVisibleError


def _placement_view(
    placement: PlacementSession, snapshot: ModuleSnapshot, numbers: Mapping[str, Any]
) -> dict[str, Any]:
    question = None
    if placement.pending_ref is not None:
        q = snapshot.questions.get(placement.pending_ref, {})
        question = {
            "ref": placement.pending_ref,
            "prompt": q.get("prompt", ""),
            "options": list(q.get("options", [])),
        }
    return {
        "placement_id": placement.id,
        "done": placement.finished_at is not None,
        "asked": len(placement.asked),
        "budget": placement.budget,
        "question": question,
        "stop_code": placement.stop_code,
        "numbers": dict(numbers),
    }


def _advance_placement(
    session: Session,
    placement: PlacementSession,
    snapshot: ModuleSnapshot,
    state: LearnerState,
    targets: Mapping[int, int],
    now: dt.datetime,
) -> dict[str, Any]:
    step = next_placement_step(
        state.model,
        snapshot.probes,
        targets,
        now,
        asked=[a["ref"] for a in placement.asked],
        config=PlacementConfig(budget=placement.budget),
    )
    if step.choice is None:
        placement.pending_ref = None
        placement.stop_code = step.stop_code
        placement.finished_at = now
    else:
        placement.pending_ref = step.choice.probe.ref
    session.flush()
    return _placement_view(placement, snapshot, step.numbers)


def start_placement(
    session: Session,
    *,
    tenant_id: int,
    person_id: int,
    module_id: int,
    now: dt.datetime,
) -> dict[str, Any]:
    """Open (or resume) the placement check and return its first question or "done"."""
    snapshot = load_module(session, tenant_id=tenant_id, module_id=module_id)
    existing = session.scalars(
        select(PlacementSession)
        .where(
            PlacementSession.tenant_id == tenant_id,
            PlacementSession.person_id == person_id,
            PlacementSession.module_id == module_id,
        )
        .order_by(PlacementSession.id.desc())
    ).first()
    if existing is not None and (
        existing.finished_at is not None or existing.pending_ref
    ):
        return _placement_view(existing, snapshot, {})
    placement = existing or PlacementSession(
        tenant_id=tenant_id,
        person_id=person_id,
        module_id=module_id,
        budget=snapshot.placement_budget,
        asked=[],
        started_at=now,
    )
    session.add(placement)
    session.flush()
    # Evidence already in from the LRS counts before the first question is chosen.
    snapshot, state, role = learner_in_module(
        session, tenant_id=tenant_id, person_id=person_id, module_id=module_id
    )
    targets = dict(role.targets) if role else {}
    return _advance_placement(session, placement, snapshot, state, targets, now)


def answer_placement(
    session: Session,
    *,
    tenant_id: int,
    placement_id: int,
    ref: str,
    answer: Any,
    now: dt.datetime,
) -> dict[str, Any]:
    """Score the pending placement question, update the model, and pick the next one."""
    placement = session.get(PlacementSession, placement_id)
    if placement is None or placement.tenant_id != tenant_id:
        raise NotVisibleError(f"placement {placement_id}")
    snapshot = load_module(session, tenant_id=tenant_id, module_id=placement.module_id)
    if placement.finished_at is not None or placement.pending_ref != ref:
        raise ValueError(f"question {ref!r} is not the one pending in this placement")
    question = snapshot.questions.get(ref, {})
    correct = answer == question.get("answer")
    probe = next(p for p in snapshot.probes if p.ref == ref)
    obs = placement_observation(probe, correct, now)
    session.add(
        Evidence(
            tenant_id=tenant_id,
            person_id=placement.person_id,
            skill_id=probe.skill_id,
            outcome=obs.outcome,
            weight=1.0,
            level=probe.level,
            source="pathwise",
            activity_id=int(ref.split(":")[0]),
            rule_key="placement",
            occurred_at=now,
        )
    )
    placement.asked = [
        *placement.asked,
        {
            "ref": ref,
            "skill_id": probe.skill_id,
            "level": probe.level,
            "correct": correct,
        },
    ]
    session.flush()
    state = load_learner(
        session,
        tenant_id=tenant_id,
        person_id=placement.person_id,
        n_levels=snapshot.catalog.n_levels,
    )
    apply_pending_evidence(
        session, tenant_id=tenant_id, person_id=placement.person_id, state=state
    )
    role = learner_role(
        session, tenant_id=tenant_id, person_id=placement.person_id, snapshot=snapshot
    )
    targets = dict(role.targets) if role else {}
    return _advance_placement(session, placement, snapshot, state, targets, now)
