"""Adaptive services: read a stored framework back into a catalogue document, and export it.

The export is the file an author edits and imports again, so it lists every record
in a stable order (by id) and round-trips through ``parse_catalogue``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive.core.answers import question_type
from adaptive.core.catalogue_format import (
    XAPI_ACTIVITY_ID,
    ActivityDoc,
    CatalogueDoc,
    FrameworkDoc,
    ModuleDoc,
    QuestionDoc,
    RoleDoc,
    RoleTargetDoc,
    SkillDoc,
    SkillTagDoc,
)
from adaptive.core.catalogue_write import export_catalogue
from adaptive.models import (
    Activity,
    Framework,
    Module,
    RoleProfile,
    Skill,
    SkillPrerequisite,
)


def load_catalogue(session: Session, *, framework_id: int) -> CatalogueDoc:
    """Read a framework and everything in it back into a catalogue document."""
    framework = session.get(Framework, framework_id)
    if framework is None:
        raise LookupError(f"no framework with id {framework_id}")
    skills = list(
        session.scalars(
            select(Skill).where(Skill.framework_id == framework_id).order_by(Skill.id)
        )
    )
    key_of = {s.id: s.key for s in skills}
    prerequisites: dict[int, list[str]] = {s.id: [] for s in skills}
    for edge in session.scalars(
        select(SkillPrerequisite)
        .where(SkillPrerequisite.skill_id.in_(key_of))
        .order_by(SkillPrerequisite.skill_id, SkillPrerequisite.prerequisite_id)
    ):
        prerequisites[edge.skill_id].append(key_of[edge.prerequisite_id])
    roles = list(
        session.scalars(
            select(RoleProfile)
            .where(RoleProfile.framework_id == framework_id)
            .order_by(RoleProfile.id)
        )
    )
    role_key = {r.id: r.key for r in roles}
    activities = list(
        session.scalars(
            select(Activity)
            .where(Activity.framework_id == framework_id)
            .order_by(Activity.id)
        )
    )
    activity_key = {a.id: a.key for a in activities}
    modules = list(
        session.scalars(
            select(Module)
            .where(Module.framework_id == framework_id)
            .order_by(Module.id)
        )
    )
    return CatalogueDoc(
        framework=FrameworkDoc(
            framework.key, framework.name, framework.description, tuple(framework.scale)
        ),
        skills=tuple(
            SkillDoc(s.key, s.name, s.description, tuple(prerequisites[s.id]))
            for s in skills
        ),
        roles=tuple(
            RoleDoc(
                r.key,
                r.name,
                r.description,
                r.horizon_days,
                tuple(
                    RoleTargetDoc(key_of[t.skill_id], t.target_level)
                    for t in sorted(r.targets, key=lambda t: t.skill_id)
                ),
            )
            for r in roles
        ),
        activities=tuple(_activity_doc(a, key_of) for a in activities),
        modules=tuple(
            ModuleDoc(
                m.key,
                m.title,
                m.description,
                role_key.get(m.default_role_id)
                if m.default_role_id is not None
                else None,
                m.placement_budget,
                tuple(
                    activity_key[link.activity_id]
                    for link in sorted(m.activity_links, key=lambda link: link.position)
                ),
            )
            for m in modules
        ),
        source_name=f"framework:{framework.key}",
    )


def _activity_doc(activity: Activity, key_of: dict[int, str]) -> ActivityDoc:
    content = activity.content or {}
    questions = tuple(_question_doc(q) for q in content.get("questions", []))
    return ActivityDoc(
        key=activity.key,
        title=activity.title,
        type=activity.kind,
        duration_min=activity.duration_min,
        difficulty=activity.difficulty,
        target_level=activity.target_level,
        explanation_group=activity.explanation_group,
        url=activity.url,
        # Heaviest tag first, as the module snapshot reads them: the first tag is
        # the skill the activity teaches or checks (ties keep the stored order).
        skills=tuple(
            SkillTagDoc(key_of[link.skill_id], link.weight, link.level)
            for link in sorted(activity.skill_links, key=lambda link: -link.weight)
        ),
        markdown=str(content.get("markdown", "")),
        questions=questions,
        activity_id=(
            str(content[XAPI_ACTIVITY_ID])
            if content.get(XAPI_ACTIVITY_ID) is not None
            else None
        ),
    )


def export_catalogue_for(session: Session, *, framework_id: int) -> str:
    """The framework as catalogue JSON, ready to edit and re-import."""
    return export_catalogue(load_catalogue(session, framework_id=framework_id))


def _question_doc(q: dict[str, Any]) -> QuestionDoc:
    """A stored question as the catalogue file writes it (every type round-trips)."""
    raw = q.get("answer")
    answer: int | tuple[int, ...] | str | None
    if isinstance(raw, list):
        answer = tuple(int(i) for i in raw)
    elif isinstance(raw, str) or raw is None:
        answer = raw
    else:
        answer = int(raw)
    return QuestionDoc(
        str(q["prompt"]),
        tuple(str(o) for o in q.get("options", ())),
        answer,
        str(q.get("explanation", "")),
        skill=None if q.get("skill") is None else str(q["skill"]),
        level=None if q.get("level") is None else int(q["level"]),
        difficulty=None if q.get("difficulty") is None else float(q["difficulty"]),
        type=question_type(q),
        accepted=tuple(str(t) for t in q.get("accepted", ())),
        rubric=tuple(str(t) for t in q.get("rubric", ())),
    )
