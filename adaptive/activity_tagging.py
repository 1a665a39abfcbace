"""Adaptive services: store activity skill tags from a checked tagging CSV, audited.

Tags are added or updated, never removed: a CSV usually covers only the activities
an author is reviewing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive.catalogue_import import assign_changed
from adaptive.core.catalogue_format import TagRow
from adaptive.core.catalogue_tagging import check_tagging
from adaptive.models import Activity, ActivitySkill, Framework, Skill
from lti_tool.infra.audit import record_audit


@dataclass
class TagSummary:
    framework_id: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def tag_activities(
    session: Session,
    *,
    framework_id: int,
    rows: Sequence[TagRow],
    source_name: str,
    actor: str,
    tenant_id: int | None = None,
) -> TagSummary:
    """Add or update activity skill tags from parsed CSV rows (other tags are kept).

    Raises:
        CatalogueError: rows naming activities or skills the framework doesn't have,
            or levels outside its scale, with their CSV line numbers; nothing is changed.
    """
    framework = session.get(Framework, framework_id)
    if framework is None:
        raise LookupError(f"no framework with id {framework_id}")
    skills = {
        s.key: s
        for s in session.scalars(
            select(Skill).where(Skill.framework_id == framework_id)
        )
    }
    activities = {
        a.key: a
        for a in session.scalars(
            select(Activity).where(Activity.framework_id == framework_id)
        )
    }
    check_tagging(
        rows,
        source_name=source_name,
        activity_keys=activities,
        skill_keys=skills,
        max_level=len(framework.scale) - 1,
    )
    summary = TagSummary(framework_id)
    with session.begin_nested():
        for row in rows:
            activity = activities[row.activity_key]
            skill_id = skills[row.skill_key].id
            link = next(
                (li for li in activity.skill_links if li.skill_id == skill_id), None
            )
            if link is None:
                activity.skill_links.append(
                    ActivitySkill(skill_id=skill_id, weight=row.weight, level=row.level)
                )
                summary.created += 1
            elif assign_changed(link, weight=row.weight, level=row.level):
                summary.updated += 1
            else:
                summary.unchanged += 1
        record_audit(
            session,
            tenant_id=tenant_id,
            actor=actor,
            action="catalogue.tag",
            target=f"framework:{framework.key}",
            details={"source": source_name, **asdict(summary)},
        )
        session.flush()
    return summary
