"""Use cases of the learner API: the path page (role, skills, path ahead, minutes left)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from adaptive.core.decisions import DONE_STATUSES, STATUS_SKIPPED
from adaptive.module_snapshots import ModuleSnapshot
from adaptive.progress_reports import learner_progress
from lti_tool.learner_journey.context import decided_step, where_of
from lti_tool.lti.launch_token import LaunchContext


def learner_path(
    session: Session,
    ctx: LaunchContext,
    *,
    now: dt.datetime,
    time_budget_min: float | None,
) -> dict[str, Any]:
    """The learner's role, skills, path ahead with reasons and minutes left: reads only."""
    where = where_of(session, ctx)
    rows = learner_progress(
        session,
        tenant_id=ctx.tenant_id,
        person_id=ctx.person_id,
        module_id=where.module.id,
        now=now,
    )
    role = where.snapshot.role
    low, high = _minutes_left(where.snapshot, rows)
    return {
        "module": {"key": where.snapshot.module_key, "title": where.snapshot.title},
        "target_role": role.name if role else None,
        "skills": [
            {
                "skill_id": r["skill_id"],
                "name": r["name"],
                "status": r["status"],
                "level": r["level"],
                "level_name": r["level_name"],
                "target": r["target"],
                "target_name": r["target_name"],
                "uncertainty": r["uncertainty"],
                "p_target": r["p_target"],
                "next_refresh_at": r["next_refresh_at"],
            }
            for r in rows
        ],
        "path": [_path_entry(r) for r in rows],
        "next_step": decided_step(session, ctx, where, now, time_budget_min),
        "minutes_left": {"low": low, "high": high},
        "time_budget_min": time_budget_min,
        "registration": where.registration,
    }


def _path_entry(row: dict[str, Any]) -> dict[str, Any]:
    status = row["status"]
    if status == STATUS_SKIPPED:
        reason = f"skipped: your manager set {row['name']} aside"
    elif status in DONE_STATUSES:
        reason = f"skipped: you already show {row['name']} at {row['target_name']}"
    else:
        reason = f"to do: {row['name']} up to {row['target_name']}"
    return {"skill_id": row["skill_id"], "status": status, "reason": reason}


def _minutes_left(
    snapshot: ModuleSnapshot, rows: list[dict[str, Any]]
) -> tuple[float, float]:
    """From the shortest activity per open skill to every activity on them."""
    open_skills = {
        r["skill_id"]
        for r in rows
        if r["status"] not in DONE_STATUSES and r["status"] != STATUS_SKIPPED
    }
    low = 0.0
    high = 0.0
    for skill_id in open_skills:
        minutes = [
            a.duration_min
            for a in snapshot.catalog.activities.values()
            if any(link.skill_id == skill_id for link in a.skills)
        ]
        low += min(minutes, default=0.0)
        high += sum(minutes)
    return round(low, 1), round(high, 1)


def next_step_within(
    session: Session, ctx: LaunchContext, *, now: dt.datetime, time_budget_min: float
) -> dict[str, Any]:
    """The next step in the launch's module that fits in ``time_budget_min``."""
    return decided_step(session, ctx, where_of(session, ctx), now, time_budget_min)
