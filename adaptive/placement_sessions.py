"""Adaptive services: the placement check: open or resume it, score answers, ask the next.

Which question to ask, when to stop and what an answer says are the engine's
(``Engine.placement_step`` / ``placement_evidence``, ``adaptive.core.placement``);
this stores the check in a ``PlacementSession`` row and each answer as evidence rows
(``placement`` for the question's skill, ``placement_related`` for the weaker
cross-skill evidence), which ``apply_pending_evidence`` folds into the model.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive.core.answers import check_answer, question_type
from adaptive.core.engine import Engine
from adaptive.core.placement import Placement
from adaptive.learner_context import learner_in_module
from adaptive.learner_store import LearnerState
from adaptive.models import PlacementSession
from adaptive.module_snapshots import ModuleSnapshot, load_module
from adaptive.pending_evidence import (
    RULE_PLACEMENT,
    RULE_PLACEMENT_RELATED,
    observation_row,
)
from adaptive.visibility import NotVisibleError


def _placement_view(
    placement: PlacementSession, snapshot: ModuleSnapshot, numbers: Mapping[str, Any]
) -> dict[str, Any]:
    question = None
    if placement.pending_ref is not None:
        q = snapshot.questions.get(placement.pending_ref, {})
        question = {
            "ref": placement.pending_ref,
            "type": question_type(q),
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


def _engine(snapshot: ModuleSnapshot, state: LearnerState) -> Engine:
    return Engine(snapshot.catalog, params=state.model.params, probes=snapshot.probes)


def _advance_placement(
    session: Session,
    placement: PlacementSession,
    snapshot: ModuleSnapshot,
    state: LearnerState,
    targets: Mapping[int, int],
    now: dt.datetime,
) -> dict[str, Any]:
    engine = _engine(snapshot, state)
    learner = engine.start(targets, model=state.model)
    check = Placement(
        budget=placement.budget,
        asked=[a["ref"] for a in placement.asked],
        answers=[bool(a["correct"]) for a in placement.asked],
    )
    step = engine.placement_step(learner, check, now)
    if step.choice is None:
        placement.pending_ref = None
        placement.stop_code = step.stop_code
        placement.finished_at = now
    else:
        placement.pending_ref = step.choice.probe.ref
    session.flush()
    return _placement_view(placement, snapshot, step.numbers)


STOP_SKIPPED = "skipped_by_learner"


def _latest_placement(
    session: Session, *, tenant_id: int, person_id: int, module_id: int
) -> PlacementSession | None:
    return session.scalars(
        select(PlacementSession)
        .where(
            PlacementSession.tenant_id == tenant_id,
            PlacementSession.person_id == person_id,
            PlacementSession.module_id == module_id,
        )
        .order_by(PlacementSession.id.desc())
    ).first()


def placement_wanted(
    session: Session, *, tenant_id: int, person_id: int, module_id: int
) -> bool:
    """Does the module have a placement check this learner has neither done nor skipped?"""
    snapshot = load_module(session, tenant_id=tenant_id, module_id=module_id)
    if not len(snapshot.probes) or snapshot.placement_budget <= 0:
        return False
    latest = _latest_placement(
        session, tenant_id=tenant_id, person_id=person_id, module_id=module_id
    )
    return latest is None or latest.finished_at is None


def current_placement(
    session: Session, *, tenant_id: int, person_id: int, module_id: int
) -> dict[str, Any] | None:
    """The learner's latest check as it stands (pending question or done); reads only."""
    latest = _latest_placement(
        session, tenant_id=tenant_id, person_id=person_id, module_id=module_id
    )
    if latest is None:
        return None
    snapshot = load_module(session, tenant_id=tenant_id, module_id=module_id)
    return _placement_view(latest, snapshot, {})


def skip_placement(
    session: Session,
    *,
    tenant_id: int,
    person_id: int,
    module_id: int,
    now: dt.datetime,
) -> dict[str, Any]:
    """The learner starts from the beginning: close the check as skipped (idempotent).

    An open check keeps the answers already given (they are evidence); a finished
    or already skipped one is returned unchanged.
    """
    snapshot = load_module(session, tenant_id=tenant_id, module_id=module_id)
    placement = _latest_placement(
        session, tenant_id=tenant_id, person_id=person_id, module_id=module_id
    )
    if placement is not None and placement.finished_at is not None:
        return _placement_view(placement, snapshot, {})
    if placement is None:
        placement = PlacementSession(
            tenant_id=tenant_id,
            person_id=person_id,
            module_id=module_id,
            budget=snapshot.placement_budget,
            asked=[],
            started_at=now,
        )
        session.add(placement)
    placement.pending_ref = None
    placement.stop_code = STOP_SKIPPED
    placement.finished_at = now
    session.flush()
    return _placement_view(placement, snapshot, {})


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
    existing = _latest_placement(
        session, tenant_id=tenant_id, person_id=person_id, module_id=module_id
    )
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
    """Score the pending placement question, store what it says, and pick the next one."""
    placement = session.get(PlacementSession, placement_id)
    if placement is None or placement.tenant_id != tenant_id:
        raise NotVisibleError(f"placement {placement_id}")
    snapshot = load_module(session, tenant_id=tenant_id, module_id=placement.module_id)
    probe = snapshot.probes.get(ref)
    if placement.finished_at is not None or placement.pending_ref != ref or not probe:
        raise ValueError(f"question {ref!r} is not the one pending in this placement")
    correct = bool(check_answer(snapshot.questions.get(ref, {}), answer))
    engine = Engine(snapshot.catalog, probes=snapshot.probes)
    activity_id = int(ref.split(":")[0])
    # The first observation is the answer's own skill; the rest are related skills,
    # stored without the activity (it did not ask about them).
    for i, obs in enumerate(engine.placement_evidence(ref, correct, now)):
        session.add(
            observation_row(
                obs,
                tenant_id=tenant_id,
                person_id=placement.person_id,
                activity_id=activity_id if i == 0 else None,
                rule_key=RULE_PLACEMENT if i == 0 else RULE_PLACEMENT_RELATED,
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
    snapshot, state, role = learner_in_module(
        session,
        tenant_id=tenant_id,
        person_id=placement.person_id,
        module_id=placement.module_id,
    )
    targets = dict(role.targets) if role else {}
    return _advance_placement(session, placement, snapshot, state, targets, now)
