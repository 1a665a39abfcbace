"""Adaptive services: role assignment and lookup (which targets a learner works towards).

A learner's role in a module is their assignment for that module, else their
install-wide assignment, else the module's default role.
"""

from __future__ import annotations

from sqlalchemy import (
    BindParameter,
    CompoundSelect,
    Integer,
    bindparam,
    or_,
    select,
    union,
)
from sqlalchemy.orm import Session

from adaptive.core.catalogue import RoleInfo
from adaptive.models import (
    Attempt,
    Framework,
    LearnerRole,
    Module,
    PlacementSession,
    RoleProfile,
    RoleTarget,
)
from adaptive.module_snapshots import ModuleSnapshot, role_info
from adaptive.path_people import people_with_paths
from adaptive.visibility import NotVisibleError, visible_frameworks

_TENANT: BindParameter[int] = bindparam("tenant_id", type_=Integer)
_PERSON: BindParameter[int] = bindparam("person_id", type_=Integer)
_ROLE_ASSIGNMENTS_OF = (
    select(LearnerRole.role_id)
    .where(
        LearnerRole.tenant_id == _TENANT,
        LearnerRole.person_id == _PERSON,
        or_(
            LearnerRole.module_id == bindparam("module_id"),
            LearnerRole.module_id.is_(None),
        ),
    )
    .order_by(LearnerRole.module_id.is_(None))
)


def learner_role(
    session: Session, *, tenant_id: int, person_id: int, snapshot: ModuleSnapshot
) -> RoleInfo | None:
    """The learner's role for this module: an assignment, else the module's default."""
    if person_id not in people_with_paths(session, tenant_id).roles:
        return snapshot.role
    assigned_role_id = session.scalars(
        _ROLE_ASSIGNMENTS_OF,
        {
            "tenant_id": tenant_id,
            "person_id": person_id,
            "module_id": snapshot.module_id,
        },
    ).first()
    if assigned_role_id is not None:
        visible = session.execute(
            select(RoleProfile.id)
            .join(Framework, Framework.id == RoleProfile.framework_id)
            .where(RoleProfile.id == assigned_role_id, visible_frameworks(tenant_id))
        ).scalar_one_or_none()
        if visible is not None:
            return role_info(session, assigned_role_id)
    return snapshot.role


def assign_role(
    session: Session,
    *,
    tenant_id: int,
    person_id: int,
    role_id: int,
    module_id: int | None = None,
    actor: str = "",
) -> LearnerRole:
    """Point a learner at a role (per module, or everywhere when ``module_id`` is None)."""
    visible = session.execute(
        select(RoleProfile.id)
        .join(Framework, Framework.id == RoleProfile.framework_id)
        .where(RoleProfile.id == role_id, visible_frameworks(tenant_id))
    ).scalar_one_or_none()
    if visible is None:
        raise NotVisibleError(f"role {role_id}")
    row = session.scalars(
        select(LearnerRole).where(
            LearnerRole.tenant_id == tenant_id,
            LearnerRole.person_id == person_id,
            LearnerRole.module_id.is_(None)
            if module_id is None
            else LearnerRole.module_id == module_id,
        )
    ).first()
    if row is None:
        row = LearnerRole(
            tenant_id=tenant_id, person_id=person_id, module_id=module_id, role_id=0
        )
        session.add(row)
    row.role_id = role_id
    row.assigned_by = actor
    session.flush()
    return row


# The learner's roles: their assignments, and the default roles of the modules they
# attempted or were placed in. Built once (see ``adaptive.learner_store``).
_ROLES_OF: CompoundSelect[tuple[int | None]] = union(
    select(LearnerRole.role_id).where(
        LearnerRole.tenant_id == _TENANT, LearnerRole.person_id == _PERSON
    ),
    select(Module.default_role_id)
    .join(Attempt, Attempt.module_id == Module.id)
    .where(Attempt.tenant_id == _TENANT, Attempt.person_id == _PERSON),
    select(Module.default_role_id)
    .join(PlacementSession, PlacementSession.module_id == Module.id)
    .where(
        PlacementSession.tenant_id == _TENANT, PlacementSession.person_id == _PERSON
    ),
)
# A module without a default role adds a NULL, which ``IN`` matches to nothing.
_TARGETS_OF_ROLES_OF = select(RoleTarget.skill_id, RoleTarget.target_level).where(
    RoleTarget.role_id.in_(_ROLES_OF)
)


def targets_by_skill(
    session: Session, *, tenant_id: int, person_id: int
) -> dict[int, int]:
    """The highest target any of the learner's roles sets per skill (for mastery cards).

    One query reads the targets of all the learner's roles (``_ROLES_OF``).
    """
    out: dict[int, int] = {}
    for skill_id, level in session.execute(
        _TARGETS_OF_ROLES_OF, {"tenant_id": tenant_id, "person_id": person_id}
    ):
        out[skill_id] = max(out.get(skill_id, 0), level)
    return out
