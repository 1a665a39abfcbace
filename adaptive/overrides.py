"""Adaptive services: a manager's overrides of a learner's path (pin, skip, targets, order).

Every change is audited; a revoked override is kept for the record. The policy reads
the active ones folded into ``adaptive.core.decisions.Overrides``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import BindParameter, Integer, bindparam, or_, select
from sqlalchemy.orm import Session

from adaptive.core.decisions import Overrides
from adaptive.models import OVERRIDE_KINDS, Activity, Framework, PathOverride, Skill
from adaptive.path_people import people_with_paths
from adaptive.visibility import NotVisibleError, visible_frameworks
from lti_tool.infra.audit import record_audit

_TENANT: BindParameter[int] = bindparam("tenant_id", type_=Integer)
_PERSON: BindParameter[int] = bindparam("person_id", type_=Integer)
_ACTIVE_OVERRIDES_OF = (
    select(
        PathOverride.kind,
        PathOverride.skill_id,
        PathOverride.activity_id,
        PathOverride.level,
        PathOverride.order,
    )
    .where(
        PathOverride.tenant_id == _TENANT,
        PathOverride.person_id == _PERSON,
        PathOverride.revoked_at.is_(None),
        or_(
            PathOverride.module_id == bindparam("module_id"),
            PathOverride.module_id.is_(None),
        ),
    )
    .order_by(PathOverride.created_at, PathOverride.id)
)


def active_overrides(
    session: Session, *, tenant_id: int, person_id: int, module_id: int | None
) -> Overrides:
    """Fold the active override rows (oldest first) into the policy's Overrides."""
    if person_id not in people_with_paths(session, tenant_id).overrides:
        return Overrides()
    rows = session.execute(
        _ACTIVE_OVERRIDES_OF,
        {"tenant_id": tenant_id, "person_id": person_id, "module_id": module_id},
    ).all()
    pinned: list[int] = []
    skipped_skills: set[int] = set()
    skipped_activities: set[int] = set()
    added: dict[int, int] = {}
    changes: dict[int, int] = {}
    order: tuple[int, ...] = ()
    for row in rows:
        if row.kind == "pin" and row.activity_id is not None:
            pinned.append(row.activity_id)
        elif row.kind == "skip_skill" and row.skill_id is not None:
            skipped_skills.add(row.skill_id)
        elif row.kind == "skip_activity" and row.activity_id is not None:
            skipped_activities.add(row.activity_id)
        elif row.kind == "add_target" and row.skill_id is not None and row.level:
            added[row.skill_id] = row.level
        elif (
            row.kind == "set_target"
            and row.skill_id is not None
            and row.level is not None
        ):
            changes[row.skill_id] = row.level
        elif row.kind == "reorder":
            order = tuple(int(s) for s in row.order)
        # "reviewed" only records that a manager looked: it changes no decision.
    return Overrides(
        pinned=tuple(pinned),
        skipped_skills=frozenset(skipped_skills),
        skipped_activities=frozenset(skipped_activities),
        added_targets=added,
        target_changes=changes,
        skill_order=order,
    )


def override_notes(
    session: Session, *, tenant_id: int, person_id: int, module_id: int | None
) -> list[PathOverride]:
    """The active overrides of a learner's path in a module, oldest first, with notes.

    What the learner's page shows as "reviewed by your manager": the same rows
    ``active_overrides`` folds into the policy.
    """
    if person_id not in people_with_paths(session, tenant_id).overrides:
        return []
    return list(
        session.scalars(
            select(PathOverride)
            .where(
                PathOverride.tenant_id == tenant_id,
                PathOverride.person_id == person_id,
                PathOverride.revoked_at.is_(None),
                or_(
                    PathOverride.module_id == module_id,
                    PathOverride.module_id.is_(None),
                ),
            )
            .order_by(PathOverride.created_at, PathOverride.id)
        )
    )


def set_override(
    session: Session,
    *,
    tenant_id: int,
    person_id: int,
    kind: str,
    actor: str,
    module_id: int | None = None,
    skill_id: int | None = None,
    activity_id: int | None = None,
    level: int | None = None,
    order: Sequence[int] = (),
    note: str = "",
    now: dt.datetime | None = None,
) -> PathOverride:
    """Record a manager's override of a learner's path and audit it.

    Kinds: pin (activity first), skip_skill, skip_activity, add_target (skill, level:
    beyond the role, on request), set_target (skill, level; 0 removes it), reorder
    (skill order), reviewed (a manager looked at the path; only ``note``, and the
    engine ignores it). A new reorder replaces the previous one.
    """
    if kind not in OVERRIDE_KINDS:
        raise ValueError(f"unknown override kind {kind!r}; use one of {OVERRIDE_KINDS}")
    needs_activity = kind in {"pin", "skip_activity"}
    needs_skill = kind in {"skip_skill", "add_target", "set_target"}
    if needs_activity and activity_id is None:
        raise ValueError(f"{kind} needs activity_id")
    if needs_skill and skill_id is None:
        raise ValueError(f"{kind} needs skill_id")
    if kind in {"add_target", "set_target"} and level is None:
        raise ValueError(f"{kind} needs level")
    if kind == "reorder" and not order:
        raise ValueError("reorder needs a skill order")
    _check_visible(
        session,
        tenant_id=tenant_id,
        skill_ids=[*order, *([skill_id] if skill_id else [])],
        activity_id=activity_id,
    )
    at = now or dt.datetime.now(dt.UTC)
    if kind == "reorder":
        for old in session.scalars(
            select(PathOverride).where(
                PathOverride.tenant_id == tenant_id,
                PathOverride.person_id == person_id,
                PathOverride.kind == "reorder",
                PathOverride.revoked_at.is_(None),
            )
        ):
            old.revoked_at = at
    row = PathOverride(
        tenant_id=tenant_id,
        person_id=person_id,
        module_id=module_id,
        kind=kind,
        skill_id=skill_id,
        activity_id=activity_id,
        level=level,
        order=[int(s) for s in order],
        note=note,
        created_by=actor,
        created_at=at,
    )
    session.add(row)
    session.flush()
    record_audit(
        session,
        at=at,
        tenant_id=tenant_id,
        actor=actor,
        action=f"path_override.{kind}",
        target=f"person:{person_id}",
        details={
            "override_id": row.id,
            "module_id": module_id,
            "skill_id": skill_id,
            "activity_id": activity_id,
            "level": level,
            "order": list(order),
            "note": note,
        },
    )
    session.flush()
    return row


def revoke_override(
    session: Session,
    *,
    tenant_id: int,
    override_id: int,
    actor: str,
    now: dt.datetime | None = None,
) -> PathOverride:
    """Withdraw an override (kept for the record) and audit it."""
    row = session.get(PathOverride, override_id)
    if row is None or row.tenant_id != tenant_id:
        raise NotVisibleError(f"override {override_id}")
    at = now or dt.datetime.now(dt.UTC)
    row.revoked_at = at
    record_audit(
        session,
        at=at,
        tenant_id=tenant_id,
        actor=actor,
        action="path_override.revoke",
        target=f"person:{row.person_id}",
        details={"override_id": row.id, "kind": row.kind},
    )
    session.flush()
    return row


def _check_visible(
    session: Session,
    *,
    tenant_id: int,
    skill_ids: Iterable[int],
    activity_id: int | None,
) -> None:
    """Every named skill and the activity must be visible to the tenant."""
    wanted = set(skill_ids)
    if wanted:
        found = set(
            session.scalars(
                select(Skill.id)
                .join(Framework, Framework.id == Skill.framework_id)
                .where(Skill.id.in_(wanted), visible_frameworks(tenant_id))
            )
        )
        if found != wanted:
            raise NotVisibleError(f"skills {sorted(wanted - found)}")
    if activity_id is not None:
        found_activity = session.execute(
            select(Activity.id)
            .join(Framework, Framework.id == Activity.framework_id)
            .where(Activity.id == activity_id, visible_frameworks(tenant_id))
        ).scalar_one_or_none()
        if found_activity is None:
            raise NotVisibleError(f"activity {activity_id}")


def listed_overrides(
    session: Session, *, tenant_id: int, person_id: int, module_id: int | None
) -> list[PathOverride]:
    """The learner's active override rows for a module page (and module-wide ones)."""
    return list(
        session.scalars(
            select(PathOverride)
            .where(
                PathOverride.tenant_id == tenant_id,
                PathOverride.person_id == person_id,
                PathOverride.revoked_at.is_(None),
                or_(
                    PathOverride.module_id == module_id,
                    PathOverride.module_id.is_(None),
                ),
            )
            .order_by(PathOverride.created_at, PathOverride.id)
        )
    )
