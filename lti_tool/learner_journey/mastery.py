"""Use cases of the learner API: tell the LRS when a skill crosses the role's target.

Called after every change the journey makes to the learner's model (an attempt, a
placement answer, an external activity's result); ``xapi.mastery`` decides whether
anything changed since it last spoke, so calling it again is harmless.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from sqlalchemy.orm import Session

from adaptive.learner_context import InModule
from adaptive.progress_reports import learner_progress
from lti_tool.learner_journey.context import Where, iri, module_ref
from lti_tool.lti.launch_token import LaunchContext
from xapi.core.statements import ActivityRef
from xapi.mastery import MasteryContext, SkillStanding, announce_mastery_changes
from xapi.models import OutboxStatement


def skill_ref(base_url: str, where: Where, skill_id: int) -> ActivityRef:
    """A skill of the launch's framework as an xAPI activity."""
    info = where.snapshot.catalog.skills[skill_id]
    return ActivityRef(
        iri(base_url, where, "skills", quote(info.key, safe="")),
        "skill",
        name=info.name,
    )


def announce_mastery(
    session: Session,
    ctx: LaunchContext,
    where: Where,
    *,
    base_url: str,
    now: dt.datetime,
    loaded: InModule | None = None,
    report: list[dict[str, Any]] | None = None,
) -> list[OutboxStatement]:
    """Emit ``mastered`` / ``lapsed`` for the skills whose status crossed the target.

    ``loaded``: the learner's model in this module when the caller has just read it;
    ``report``: its ``learner_progress`` when the caller has computed that too.
    """
    rows = (
        report
        if report is not None
        else learner_progress(
            session,
            tenant_id=ctx.tenant_id,
            person_id=ctx.person_id,
            module_id=where.module.id,
            now=now,
            loaded=loaded,
        )
    )
    standings = [
        SkillStanding(
            skill_id=int(r["skill_id"]),
            skill=skill_ref(base_url, where, int(r["skill_id"])),
            status=str(r["status"]),
            level=int(r["level"]),
            target=int(r["target"]),
            p_target=float(r["p_target"]),
        )
        for r in rows
        if int(r["skill_id"]) in where.snapshot.catalog.skills
    ]
    return announce_mastery_changes(
        session,
        person=where.person,
        standings=standings,
        where=MasteryContext(
            module_id=where.module.id,
            registration=where.registration,
            course=where.course,
            parent=module_ref(base_url, where),
        ),
        now=now,
    )
