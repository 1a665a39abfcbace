"""Adaptive services: module snapshots (the catalogue as the engine sees it), cached.

A snapshot is immutable and keyed by (catalogue and configuration revisions, tenant,
module): building one costs tens of milliseconds and every learner page needs one, so
it is rebuilt only when the catalogue or the configuration changes anywhere. The
configuration is in the key because a snapshot carries the tenant's fitted question
parameters (``ItemParams``, written by a retrain): a stale one would keep deciding
with the old values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive.core.catalogue import (
    ActivityInfo,
    Catalog,
    RoleInfo,
    SkillInfo,
    SkillLink,
)
from adaptive.core.module_catalogue import (
    AuthoredActivity,
    authored_activity,
    module_probes,
    path_activities,
)
from adaptive.core.placement import ProbeTable
from adaptive.item_params import fitted_by_activity
from adaptive.models import (
    Activity,
    ActivitySkill,
    Framework,
    Module,
    ModuleActivity,
    RoleProfile,
    RoleTarget,
    Skill,
    SkillPrerequisite,
)
from adaptive.visibility import NotVisibleError, visible_frameworks
from lti_tool.infra import revision


@dataclass(frozen=True)
class ModuleSnapshot:
    """A module's catalogue as the pure engine sees it."""

    module_id: int
    title: str
    catalog: Catalog
    role: RoleInfo | None
    module_key: str
    framework_key: str
    probes: ProbeTable
    placement_budget: int
    questions: Mapping[str, Mapping[str, Any]]


# Immutable snapshots per (catalogue and configuration revisions, tenant, module):
# building one costs tens of milliseconds, and every learner page needs one. A
# retrain of the question parameters is configuration, and the snapshot holds them.
_SNAPSHOTS = revision.RevisionCache(
    revision.CATALOGUE, size=64, also=(revision.CONFIG,)
)


def load_module(session: Session, *, tenant_id: int, module_id: int) -> ModuleSnapshot:
    """Snapshot one module (cached until the catalogue changes anywhere).

    Raises:
        NotVisibleError: the module is another tenant's (or does not exist).
    """
    return _SNAPSHOTS.get(
        session,
        (tenant_id, module_id),
        lambda: build_module_snapshot(
            session, tenant_id=tenant_id, module_id=module_id
        ),
    )


def build_module_snapshot(
    session: Session, *, tenant_id: int, module_id: int
) -> ModuleSnapshot:
    """Snapshot one module: its framework's skills, graph and activities, and its role.

    The rules (placement items are probes, never path steps; fallback probes; each
    question's own tags) are ``adaptive.core.module_catalogue``'s, shared with the
    engine API's document catalogue. The tenant's fitted question parameters
    (``ItemParams``) replace the author's values of those questions, in the model's
    evidence and in placement alike.
    """
    module = session.execute(
        select(Module)
        .join(Framework, Framework.id == Module.framework_id)
        .where(Module.id == module_id, visible_frameworks(tenant_id))
    ).scalar_one_or_none()
    if module is None:
        raise NotVisibleError(f"module {module_id}")
    framework = session.get(Framework, module.framework_id)
    scale = tuple(framework.scale) if framework and framework.scale else None
    skills = session.scalars(
        select(Skill).where(Skill.framework_id == module.framework_id)
    ).all()
    skill_ids = {s.id for s in skills}
    skill_by_key = {s.key: s.id for s in skills}
    edges = [
        (e.skill_id, e.prerequisite_id)
        for e in session.scalars(
            select(SkillPrerequisite).where(SkillPrerequisite.skill_id.in_(skill_ids))
        )
        if e.prerequisite_id in skill_ids
    ]
    activities = session.scalars(
        select(Activity).where(Activity.framework_id == module.framework_id)
    ).all()
    fitted = fitted_by_activity(
        session, tenant_id=tenant_id, activity_ids=[a.id for a in activities]
    )
    links: dict[int, list[ActivitySkill]] = {}
    for link in session.scalars(
        select(ActivitySkill).where(
            ActivitySkill.activity_id.in_([a.id for a in activities])
        )
    ):
        links.setdefault(link.activity_id, []).append(link)
    authored: list[AuthoredActivity] = []
    questions: dict[str, Mapping[str, Any]] = {}
    for activity in activities:
        qs = activity_questions(activity)
        info = activity_info(activity, links.get(activity.id, []))
        authored.append(
            authored_activity(info, qs, skill_by_key, fitted.get(activity.id))
        )
        for index, question in enumerate(qs):
            questions[f"{activity.id}:{index}"] = question
    order = session.scalars(
        select(ModuleActivity.activity_id)
        .where(ModuleActivity.module_id == module.id)
        .order_by(ModuleActivity.position)
    ).all()
    kwargs: dict[str, Any] = {"module_order": order}
    if scale:
        kwargs["scale"] = scale
    catalog = Catalog.build(
        [SkillInfo(s.id, s.key, s.name, s.framework_id) for s in skills],
        path_activities(authored),
        edges,
        **kwargs,
    )
    role = (
        role_info(session, module.default_role_id) if module.default_role_id else None
    )
    return ModuleSnapshot(
        module_id=module.id,
        title=module.title,
        catalog=catalog,
        role=role,
        module_key=module.key,
        framework_key=framework.key if framework else str(module.framework_id),
        probes=module_probes(authored),
        placement_budget=module.placement_budget,
        questions=questions,
    )


def activity_questions(activity: Activity) -> list[dict[str, Any]]:
    """The question rows of an activity's content (anything else is ignored)."""
    return [
        q for q in (activity.content or {}).get("questions", []) if isinstance(q, dict)
    ]


def snapshot_questions(
    snapshot: ModuleSnapshot, activity_id: int
) -> list[Mapping[str, Any]]:
    """An activity's questions as the snapshot holds them (``activity_questions`` of
    its row when the snapshot was built, under the same catalogue revision)."""
    out: list[Mapping[str, Any]] = []
    while (question := snapshot.questions.get(f"{activity_id}:{len(out)}")) is not None:
        out.append(question)
    return out


def activity_info(activity: Activity, links: Sequence[ActivitySkill]) -> ActivityInfo:
    """An activity row and its skill tags as the engine's ``ActivityInfo``, main
    skill (highest weight) first; its questions are ``authored_activity``'s."""
    return ActivityInfo(
        id=activity.id,
        key=activity.key,
        title=activity.title,
        kind=activity.kind,
        duration_min=activity.duration_min,
        difficulty=activity.difficulty,
        target_level=activity.target_level,
        explanation_group=activity.explanation_group,
        skills=tuple(
            SkillLink(lk.skill_id, lk.weight, lk.level)
            for lk in sorted(links, key=lambda lk: -lk.weight)
        ),
    )


def role_info(session: Session, role_id: int) -> RoleInfo | None:
    """A role profile with its target levels (``None`` if it no longer exists)."""
    role = session.get(RoleProfile, role_id)
    if role is None:
        return None
    targets = {
        t.skill_id: t.target_level
        for t in session.scalars(
            select(RoleTarget).where(RoleTarget.role_id == role_id)
        )
    }
    return RoleInfo(role.id, role.name, targets, role.horizon_days)
