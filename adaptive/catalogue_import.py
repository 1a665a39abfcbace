"""Adaptive services: import a catalogue (frameworks, skills, roles, activities, modules).

Imports upsert by key inside a SAVEPOINT, so a re-import is idempotent and a failure part
way leaves nothing behind while the caller's session stays usable. Services flush, never
commit: the CLI or the request owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive.core.catalogue_format import (
    ActivityDoc,
    CatalogueDoc,
    CatalogueError,
    FrameworkDoc,
    ModuleDoc,
    RoleDoc,
    SkillDoc,
    SkillTagDoc,
)
from adaptive.core.catalogue_health import check_health
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
from adaptive.visibility import find_framework
from lti_tool.infra.audit import record_audit


@dataclass
class KindCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged

    def count(self, *, created: bool, changed: bool) -> None:
        if created:
            self.created += 1
        elif changed:
            self.updated += 1
        else:
            self.unchanged += 1


@dataclass
class ImportSummary:
    """What an import did, per kind of record (created / updated / unchanged)."""

    framework_id: int
    framework_key: str
    tenant_id: int | None
    source_name: str
    framework: KindCounts = field(default_factory=KindCounts)
    skills: KindCounts = field(default_factory=KindCounts)
    roles: KindCounts = field(default_factory=KindCounts)
    activities: KindCounts = field(default_factory=KindCounts)
    modules: KindCounts = field(default_factory=KindCounts)
    #: The catalogue check's warnings (imported anyway), as the author should read them.
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        kinds = (self.framework, self.skills, self.roles, self.activities, self.modules)
        return any(k.created or k.updated for k in kinds)

    def brief(self) -> dict[str, Any]:
        """A one-line-friendly summary: totals per kind and how many records changed."""
        kinds = {
            "skills": self.skills,
            "roles": self.roles,
            "activities": self.activities,
            "modules": self.modules,
        }
        out: dict[str, Any] = {
            "framework": self.framework_key,
            "framework_id": self.framework_id,
        }
        out.update({name: counts.total for name, counts in kinds.items()})
        out["created"] = sum(c.created for c in (self.framework, *kinds.values()))
        out["updated"] = sum(c.updated for c in (self.framework, *kinds.values()))
        return out

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["changed"] = self.changed
        return out


def assign_changed(obj: object, **values: Any) -> bool:
    """Set attributes that differ; report whether anything changed (idempotent re-import)."""
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def import_catalogue(
    session: Session, *, doc: CatalogueDoc, tenant_id: int | None = None, actor: str
) -> ImportSummary:
    """Create or update a framework and everything in it from a parsed catalogue.

    Records are matched by key within the framework, so importing the same file twice
    changes nothing. The import never deletes skills, activities, roles or modules that
    the file no longer lists (learner evidence may point at them); it does replace each
    listed record's prerequisites, skill tags, role targets and module order.
    A catalogue with a role target the engine cannot reach (``check_health`` errors)
    is refused before anything is written; its warnings are returned.

    Args:
        doc: a catalogue from ``parse_catalogue`` (already validated).
        tenant_id: the deployment that owns the framework; ``None`` = shared by all.
        actor: who imported it, for the audit log.

    Returns:
        Counts per kind and the check's warnings; nothing is committed.

    Raises:
        CatalogueError: every unreachable target, with its skill, level and line.
    """
    health = check_health(doc)
    if health.errors:
        raise CatalogueError(doc.source_name, [f.issue() for f in health.errors])
    with session.begin_nested():
        framework, created = _upsert_framework(session, doc.framework, tenant_id)
        summary = ImportSummary(framework.id, framework.key, tenant_id, doc.source_name)
        summary.framework.count(created=created[0], changed=created[1])
        summary.warnings = [f.text() for f in health.warnings]
        skills = _import_skills(session, framework, doc.skills, summary.skills)
        roles = _import_roles(session, framework, doc.roles, skills, summary.roles)
        activities = _import_activities(
            session, framework, doc.activities, skills, summary.activities
        )
        _import_modules(
            session, framework, doc.modules, roles, activities, summary.modules
        )
        record_audit(
            session,
            tenant_id=tenant_id,
            actor=actor,
            action="catalogue.import",
            target=f"framework:{framework.key}",
            details={
                "framework_id": framework.id,
                "source": doc.source_name,
                "counts": {
                    kind: asdict(getattr(summary, kind))
                    for kind in (
                        "framework",
                        "skills",
                        "roles",
                        "activities",
                        "modules",
                    )
                },
            },
        )
        session.flush()
    return summary


def _upsert_framework(
    session: Session, doc: FrameworkDoc, tenant_id: int | None
) -> tuple[Framework, tuple[bool, bool]]:
    framework = find_framework(session, key=doc.key, tenant_id=tenant_id)
    values = {
        "name": doc.name,
        "description": doc.description,
        "scale": list(doc.scale),
    }
    if framework is None:
        framework = Framework(tenant_id=tenant_id, key=doc.key, **values)
        session.add(framework)
        session.flush()
        return framework, (True, True)
    return framework, (False, assign_changed(framework, **values))


def _import_skills(
    session: Session, framework: Framework, docs: Sequence[SkillDoc], counts: KindCounts
) -> dict[str, Skill]:
    existing = {
        s.key: s
        for s in session.scalars(
            select(Skill).where(Skill.framework_id == framework.id)
        )
    }
    created: set[str] = set()
    changed: dict[str, bool] = {}
    for doc in docs:
        skill = existing.get(doc.key)
        values = {"name": doc.name, "description": doc.description}
        if skill is None:
            skill = Skill(framework_id=framework.id, key=doc.key, **values)
            session.add(skill)
            existing[doc.key] = skill
            created.add(doc.key)
            changed[doc.key] = True
        else:
            changed[doc.key] = assign_changed(skill, **values)
    # Prerequisite edges need every skill's id, including the ones just created.
    session.flush()
    for doc in docs:
        skill = existing[doc.key]
        wanted = {existing[p].id for p in doc.prerequisites}
        current = {
            edge.prerequisite_id: edge
            for edge in session.scalars(
                select(SkillPrerequisite).where(SkillPrerequisite.skill_id == skill.id)
            )
        }
        for prerequisite_id, edge in current.items():
            if prerequisite_id not in wanted:
                session.delete(edge)
                changed[doc.key] = True
        for prerequisite_id in sorted(wanted - current.keys()):
            session.add(
                SkillPrerequisite(skill_id=skill.id, prerequisite_id=prerequisite_id)
            )
            changed[doc.key] = True
        counts.count(created=doc.key in created, changed=changed[doc.key])
    session.flush()
    return existing


def _import_roles(
    session: Session,
    framework: Framework,
    docs: Sequence[RoleDoc],
    skills: dict[str, Skill],
    counts: KindCounts,
) -> dict[str, RoleProfile]:
    existing = {
        r.key: r
        for r in session.scalars(
            select(RoleProfile).where(RoleProfile.framework_id == framework.id)
        )
    }
    for doc in docs:
        role = existing.get(doc.key)
        values = {
            "name": doc.name,
            "description": doc.description,
            "horizon_days": doc.horizon_days,
        }
        created = role is None
        if role is None:
            role = RoleProfile(framework_id=framework.id, key=doc.key, **values)
            session.add(role)
            session.flush()
            existing[doc.key] = role
            changed = True
        else:
            changed = assign_changed(role, **values)
        wanted = {skills[t.skill].id: t.level for t in doc.targets}
        current = {t.skill_id: t for t in role.targets}
        for skill_id, target in current.items():
            if skill_id not in wanted:
                role.targets.remove(target)
                changed = True
            elif target.target_level != wanted[skill_id]:
                target.target_level = wanted[skill_id]
                changed = True
        for skill_id in (s for s in wanted if s not in current):
            role.targets.append(
                RoleTarget(skill_id=skill_id, target_level=wanted[skill_id])
            )
            changed = True
        counts.count(created=created, changed=changed)
    session.flush()
    return existing


def _import_activities(
    session: Session,
    framework: Framework,
    docs: Sequence[ActivityDoc],
    skills: dict[str, Skill],
    counts: KindCounts,
) -> dict[str, Activity]:
    existing = {
        a.key: a
        for a in session.scalars(
            select(Activity).where(Activity.framework_id == framework.id)
        )
    }
    for doc in docs:
        activity = existing.get(doc.key)
        values: dict[str, Any] = {
            "title": doc.title,
            "kind": doc.type,
            "content": doc.content(),
            "url": doc.url,
            "duration_min": doc.duration_min,
            "difficulty": doc.difficulty,
            "target_level": doc.target_level,
            "explanation_group": doc.explanation_group,
        }
        created = activity is None
        if activity is None:
            activity = Activity(framework_id=framework.id, key=doc.key, **values)
            session.add(activity)
            session.flush()
            existing[doc.key] = activity
            changed = True
        else:
            changed = assign_changed(activity, **values)
        changed = _sync_tags(activity, doc.skills, skills) or changed
        counts.count(created=created, changed=changed)
    session.flush()
    return existing


def _sync_tags(
    activity: Activity, tags: Sequence[SkillTagDoc], skills: dict[str, Skill]
) -> bool:
    wanted = {skills[t.skill].id: t for t in tags}
    current = {link.skill_id: link for link in activity.skill_links}
    changed = False
    for skill_id, link in current.items():
        if skill_id not in wanted:
            activity.skill_links.remove(link)
            changed = True
        else:
            tag = wanted[skill_id]
            changed = (
                assign_changed(link, weight=tag.weight, level=tag.level) or changed
            )
    for skill_id in (s for s in wanted if s not in current):
        tag = wanted[skill_id]
        activity.skill_links.append(
            ActivitySkill(skill_id=skill_id, weight=tag.weight, level=tag.level)
        )
        changed = True
    return changed


def _import_modules(
    session: Session,
    framework: Framework,
    docs: Sequence[ModuleDoc],
    roles: dict[str, RoleProfile],
    activities: dict[str, Activity],
    counts: KindCounts,
) -> None:
    existing = {
        m.key: m
        for m in session.scalars(
            select(Module).where(Module.framework_id == framework.id)
        )
    }
    for doc in docs:
        module = existing.get(doc.key)
        values: dict[str, Any] = {
            "title": doc.title,
            "description": doc.description,
            "default_role_id": roles[doc.default_role].id if doc.default_role else None,
            "placement_budget": doc.placement_budget,
        }
        created = module is None
        if module is None:
            module = Module(framework_id=framework.id, key=doc.key, **values)
            session.add(module)
            session.flush()
            changed = True
        else:
            changed = assign_changed(module, **values)
        wanted = {
            activities[key].id: position for position, key in enumerate(doc.activities)
        }
        current = {link.activity_id: link for link in module.activity_links}
        for activity_id, link in current.items():
            if activity_id not in wanted:
                module.activity_links.remove(link)
                changed = True
            else:
                changed = assign_changed(link, position=wanted[activity_id]) or changed
        for activity_id in (a for a in wanted if a not in current):
            module.activity_links.append(
                ModuleActivity(activity_id=activity_id, position=wanted[activity_id])
            )
            changed = True
        counts.count(created=created, changed=changed)
    session.flush()
