"""Adaptive services: store activity skill tags from a checked tagging CSV, audited.

Tags are added or updated, never removed: a CSV usually covers only the activities
an author is reviewing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive.catalogue_export import load_catalogue
from adaptive.catalogue_import import assign_changed
from adaptive.core.catalogue_format import CatalogueError, CatalogueIssue, TagRow
from adaptive.core.catalogue_health import check_health
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
            or levels outside its scale, with their CSV line numbers; or tags that
            would leave a role target unreachable (a catalogue-check error the
            framework did not have before); nothing is changed.
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
    before = {
        (f.code, f.skill, f.level)
        for f in check_health(load_catalogue(session, framework_id=framework_id)).errors
    }
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
        _refuse_new_errors(session, framework_id, rows, source_name, before)
    return summary


def _refuse_new_errors(
    session: Session,
    framework_id: int,
    rows: Sequence[TagRow],
    source_name: str,
    before: set[tuple[str, str, int]],
) -> None:
    """Raise (rolling the tags back) if they made a role target unreachable."""
    first_line: dict[str, int] = {}
    for row in rows:
        first_line.setdefault(row.skill_key, row.line)
    health = check_health(load_catalogue(session, framework_id=framework_id))
    new = [f for f in health.errors if (f.code, f.skill, f.level) not in before]
    if new:
        raise CatalogueError(
            source_name,
            [
                CatalogueIssue(
                    first_line.get(f.skill, rows[0].line if rows else 1),
                    f"skills.{f.skill}",
                    f"after these tags, {f.text()}",
                )
                for f in new
            ],
        )
