"""Use cases of the learner API: the path page (role, skills, path ahead, minutes left).

``learner_path`` is what both ``GET /api/v1/me/path`` and the ``/app/path`` page
show; it reads only. The time budget is a choice for one sitting, kept in the
expiring store for the launch's life.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from adaptive.overrides import override_notes
from adaptive.path_evidence import SkillEvidence, attempted_activities, skill_evidence
from adaptive.placement_sessions import placement_wanted
from adaptive.progress_reports import learner_progress
from lti_tool.infra.store import ExpiringStore
from lti_tool.learner_journey.context import Where, decided_step, where_of
from lti_tool.learner_journey.path_reasons import (
    manager_reviews,
    minutes_left,
    path_entry,
    refresher_plan,
)
from lti_tool.lti.launch_token import LaunchContext
from lti_tool.usecases.next_steps import BLOCKED_CODES

_BUDGET_KEY = "api_time_budget:{launch_id}"
# The path's state, from the engine's next step.
STATE_LEARNING = "learning"
STATE_TARGETS_MET = "targets_met"
STATE_BLOCKED = "blocked"


def path_state(next_step: dict[str, Any]) -> str:
    """learning | targets_met | blocked, from the engine's next step."""
    if next_step["kind"] == "done":
        return STATE_TARGETS_MET
    if next_step["kind"] == "blocked" or next_step["reason_code"] in BLOCKED_CODES:
        return STATE_BLOCKED
    return STATE_LEARNING


def time_budget(store: ExpiringStore, ctx: LaunchContext) -> float | None:
    """The minutes the learner set for this sitting, if any."""
    value = store.get(_BUDGET_KEY.format(launch_id=ctx.launch_id))
    return float(value) if value is not None else None


def set_time_budget(
    store: ExpiringStore, ctx: LaunchContext, *, minutes: int, now: dt.datetime
) -> None:
    """Keep the sitting's time budget for the launch's life: a choice, not a setting."""
    ttl = max(int((ctx.expires_at - now).total_seconds()), 1)
    store.put(_BUDGET_KEY.format(launch_id=ctx.launch_id), minutes, ttl_s=ttl)


def progress_and_evidence(
    session: Session, ctx: LaunchContext, where: Where, *, now: dt.datetime
) -> tuple[list[dict[str, Any]], dict[int, SkillEvidence]]:
    """The learner's skills against targets, and what their evidence says per skill."""
    rows = learner_progress(
        session,
        tenant_id=ctx.tenant_id,
        person_id=ctx.person_id,
        module_id=where.module.id,
        now=now,
    )
    evidence = skill_evidence(
        session,
        tenant_id=ctx.tenant_id,
        person_id=ctx.person_id,
        skill_ids=[r["skill_id"] for r in rows],
    )
    return rows, evidence


def learner_path(
    session: Session,
    ctx: LaunchContext,
    *,
    now: dt.datetime,
    time_budget_min: float | None,
    decided: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The learner's role, skills, path ahead with reasons and minutes left: reads only.

    ``decided`` is the next step the caller already has for this moment and budget
    (the launch's own), so the engine is not asked twice.
    """
    where = where_of(session, ctx)
    rows, evidence = progress_and_evidence(session, ctx, where, now=now)
    attempted = attempted_activities(
        session, tenant_id=ctx.tenant_id, person_id=ctx.person_id
    )
    overrides = override_notes(
        session,
        tenant_id=ctx.tenant_id,
        person_id=ctx.person_id,
        module_id=where.module.id,
    )
    manager_skips = {
        o.skill_id: o.note
        for o in overrides
        if o.kind == "skip_skill" and o.skill_id is not None
    }
    role = where.snapshot.role
    low, high = minutes_left(where.snapshot.catalog, rows)
    step = decided or decided_step(session, ctx, where, now, time_budget_min)
    return {
        "module": {"key": where.snapshot.module_key, "title": where.snapshot.title},
        "target_role": role.name if role else None,
        "levels": list(where.snapshot.catalog.scale),
        "skills": [
            {
                "skill_id": r["skill_id"],
                "name": r["name"],
                "status": r["status"],
                "level": r["level"],
                "level_name": r["level_name"],
                "expected_level": r["expected_level"],
                "target": r["target"],
                "target_name": r["target_name"],
                "uncertainty": r["uncertainty"],
                "p_target": r["p_target"],
                "next_refresh_at": r["next_refresh_at"],
            }
            for r in rows
        ],
        "path": [
            path_entry(
                r,
                evidence[r["skill_id"]],
                catalog=where.snapshot.catalog,
                attempted=attempted,
                now=now,
                manager_skips=manager_skips,
            )
            for r in rows
        ],
        "next_step": step,
        "state": path_state(step),
        "minutes_left": {"low": low, "high": high},
        "time_budget_min": time_budget_min,
        "reviews": manager_reviews(overrides, where.snapshot.catalog),
        "refresher_plan": refresher_plan(rows),
        "placement_wanted": placement_wanted(
            session,
            tenant_id=ctx.tenant_id,
            person_id=ctx.person_id,
            module_id=where.module.id,
        ),
        "registration": where.registration,
    }


def recommend_at_launch(
    session: Session, ctx: LaunchContext, *, now: dt.datetime, base_url: str
) -> dict[str, Any]:
    """The launch asks the engine for the next step and tells the LRS it was recommended.

    The statement carries the journey's registration and course like every other;
    its key (learner, module, activity, day) makes repeated launches one statement.
    """
    return decided_step(
        session, ctx, where_of(session, ctx), now, None, recommended_from=base_url
    )


def next_step_within(
    session: Session, ctx: LaunchContext, *, now: dt.datetime, time_budget_min: float
) -> dict[str, Any]:
    """The next step in the launch's module that fits in ``time_budget_min``."""
    return decided_step(session, ctx, where_of(session, ctx), now, time_budget_min)
