"""Adaptive services: what every decision reads: module, up-to-date learner model, role."""

from __future__ import annotations

from sqlalchemy.orm import Session

from adaptive.core.catalogue import RoleInfo
from adaptive.learner_store import LearnerState, load_learner
from adaptive.module_snapshots import ModuleSnapshot, load_module
from adaptive.pending_evidence import apply_pending_evidence
from adaptive.roles import learner_role

#: The module, the learner's up-to-date model and their role, as loaded together.
InModule = tuple[ModuleSnapshot, LearnerState, RoleInfo | None]


def learner_in_module(
    session: Session,
    *,
    tenant_id: int,
    person_id: int,
    module_id: int,
    state: LearnerState | None = None,
) -> InModule:
    """The module, the learner's up-to-date model and their role: what decisions read.

    Load it once per request when several readers need it (the decision after an
    answer, then the learner's progress for the gradebook): nothing changes it
    between them, and each load costs a profile, its skill states and pending
    evidence. ``state`` is the learner as the caller has just loaded (and maybe
    updated and saved) it at the module's scale: it is not read again, though
    evidence that arrived meanwhile is still applied to it.
    """
    snapshot = load_module(session, tenant_id=tenant_id, module_id=module_id)
    if state is None:
        state = load_learner(
            session,
            tenant_id=tenant_id,
            person_id=person_id,
            n_levels=snapshot.catalog.n_levels,
        )
    elif state.model.n_levels != snapshot.catalog.n_levels:
        raise ValueError("the learner was loaded at another scale than the module's")
    apply_pending_evidence(
        session, tenant_id=tenant_id, person_id=person_id, state=state
    )
    role = learner_role(
        session, tenant_id=tenant_id, person_id=person_id, snapshot=snapshot
    )
    return snapshot, state, role
