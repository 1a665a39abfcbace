"""Use cases of the learner API: path, placement, activity, attempt, each for one launch.

Every call acts for the launch's own person, tenant and resource link (its module);
nothing here takes another person's id, so no request can name someone else's data.
Submissions are idempotent by the client's id, and write xAPI through the outbox.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sqlalchemy.orm import Session

from adaptive.core.catalogue import ActivityInfo
from adaptive.core.policy import DONE_STATUSES, STATUS_SKIPPED
from adaptive.models import Activity, Module, PlacementSession
from adaptive.module_snapshots import ModuleSnapshot, load_module
from adaptive.next_step import next_step
from adaptive.placement_sessions import answer_placement, start_placement
from adaptive.progress_reports import learner_progress
from adaptive.submission_models import SUBMISSION_ATTEMPT, SUBMISSION_PLACEMENT_ANSWER
from adaptive.submissions import claim_submission, settle_submission
from lti_tool.infra.models import (
    Course,
    Deployment,
    Launch,
    Person,
    Registration,
    ResourceLink,
)
from lti_tool.lti.errors import LaunchRejected
from lti_tool.lti.launch_token import LaunchContext
from lti_tool.usecases import record_learner_attempt
from xapi.core.statements import ActivityRef, ResultSpec
from xapi.outbox import emit_statement

# Question fields a player must not see before answering.
_ANSWER_FIELDS = frozenset({"answer", "accepted", "explanation", "feedback"})
# A scored attempt at or above this share of right answers is "passed".
PASS_SHARE = 0.8


@dataclass(frozen=True)
class _Where:
    """The launch's module and the names its statements carry."""

    module: Module
    snapshot: ModuleSnapshot
    person: Person
    course: ActivityRef | None
    registration: str


def _where(session: Session, ctx: LaunchContext) -> _Where:
    launch = session.get(Launch, ctx.launch_id)
    person = session.get(Person, ctx.person_id)
    link = (
        session.get(ResourceLink, launch.resource_link_pk)
        if launch is not None and launch.resource_link_pk is not None
        else None
    )
    if link is not None and link.tenant_id != ctx.tenant_id:
        link = None
    if launch is None or person is None or link is None or link.module_id is None:
        raise LaunchRejected(
            "no_module", "This link in the LMS does not open a Pathwise module.", 409
        )
    module = session.get(Module, link.module_id)
    if module is None:
        raise LaunchRejected("no_module", "This link's module is gone.", 409)
    snapshot = load_module(session, tenant_id=ctx.tenant_id, module_id=module.id)
    return _Where(
        module=module,
        snapshot=snapshot,
        person=person,
        course=_course_ref(session, launch),
        # One registration per (learner, link's module attempt): the statements of
        # this journey group under it, and an xAPI activity launched from it too.
        registration=str(
            uuid.uuid5(
                uuid.NAMESPACE_URL,
                f"pathwise:registration:{ctx.tenant_id}:{ctx.person_id}:{link.id}:{module.id}",
            )
        ),
    )


def _course_ref(session: Session, launch: Launch) -> ActivityRef | None:
    """The LTI course as an xAPI activity: the platform's issuer and its context id."""
    course = session.get(Course, launch.course_id) if launch.course_id else None
    tenant = session.get(Deployment, launch.tenant_id)
    registration = session.get(Registration, tenant.registration_id) if tenant else None
    if course is None or registration is None:
        return None
    return ActivityRef(
        f"{registration.issuer.rstrip('/')}/lti/contexts/{quote(course.context_id, safe='')}",
        "course",
        name=course.title or course.label,
    )


def _iri(base_url: str, where: _Where, *parts: str) -> str:
    return "/".join(
        [f"{base_url}/catalogue/{quote(where.snapshot.framework_key, safe='')}", *parts]
    )


def _module_ref(base_url: str, where: _Where) -> ActivityRef:
    return ActivityRef(
        _iri(base_url, where, "modules", quote(where.snapshot.module_key, safe="")),
        "module",
        name=where.snapshot.title,
    )


def _next(
    session: Session,
    ctx: LaunchContext,
    where: _Where,
    now: dt.datetime,
    time_budget_min: float | None,
) -> dict[str, Any]:
    """The engine's next step, fitted to the learner's time budget when one is set."""
    rec = next_step(
        session,
        tenant_id=ctx.tenant_id,
        person_id=ctx.person_id,
        module_id=where.module.id,
        now=now,
        time_budget_min=time_budget_min,
    )
    info = (
        where.snapshot.catalog.activities.get(rec.activity_id)
        if rec.activity_id is not None
        else None
    )
    return {
        "kind": rec.kind,
        "activity_key": info.key if info else None,
        "title": info.title if info else "",
        "minutes": rec.minutes,
        "reason_code": rec.reason.code,
        "reason": rec.reason.learner_text,
    }


def _repeat(response: dict[str, Any]) -> dict[str, Any]:
    """The first answer to a submission, for its repeat."""
    if not response:
        # Only seen without transaction isolation: the first is still being handled.
        raise LaunchRejected(
            "submission_in_progress", "This submission is still being recorded.", 409
        )
    return dict(response)


# ----------------------------------------------------------------- the path


def learner_path(
    session: Session,
    ctx: LaunchContext,
    *,
    now: dt.datetime,
    time_budget_min: float | None,
) -> dict[str, Any]:
    """The learner's role, skills, path ahead with reasons and minutes left: reads only."""
    where = _where(session, ctx)
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
        "next_step": _next(session, ctx, where, now, time_budget_min),
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


# ---------------------------------------------------------------- placement


def open_placement(
    session: Session, ctx: LaunchContext, *, now: dt.datetime
) -> dict[str, Any]:
    """Start the placement check, or resume the learner's open one."""
    where = _where(session, ctx)
    view = start_placement(
        session,
        tenant_id=ctx.tenant_id,
        person_id=ctx.person_id,
        module_id=where.module.id,
        now=now,
    )
    return _placement_out(view)


def _placement_out(view: dict[str, Any]) -> dict[str, Any]:
    return {k: view[k] for k in ("placement_id", "done", "asked", "budget", "question")}


def answer_placement_once(
    session: Session,
    ctx: LaunchContext,
    *,
    client_id: str,
    ref: str,
    answer: Any,
    now: dt.datetime,
    base_url: str,
) -> dict[str, Any]:
    """Answer the pending placement question once per ``client_id``; say it to the LRS."""
    where = _where(session, ctx)
    submission, fresh = claim_submission(
        session,
        tenant_id=ctx.tenant_id,
        person_id=ctx.person_id,
        client_id=client_id,
        kind=SUBMISSION_PLACEMENT_ANSWER,
    )
    if not fresh:
        return _repeat(submission.response)
    placement = open_placement(session, ctx, now=now)
    try:
        view = answer_placement(
            session,
            tenant_id=ctx.tenant_id,
            placement_id=placement["placement_id"],
            ref=ref,
            answer=answer,
            now=now,
        )
    except ValueError:
        raise LaunchRejected(
            "not_pending",
            "This is not the placement question waiting for an answer.",
            409,
        ) from None
    row = session.get(PlacementSession, view["placement_id"])
    correct = bool(row.asked[-1]["correct"]) if row is not None and row.asked else False
    check = ActivityRef(
        _iri(base_url, where, "modules", where.snapshot.module_key, "placement"),
        "placement",
        name=f"{where.snapshot.title}: placement check",
    )
    emit_statement(
        session,
        person=where.person,
        key=f"placement-answer:{ctx.tenant_id}:{ctx.person_id}:{client_id}",
        verb="answered",
        object=ActivityRef(
            _iri(base_url, where, "questions", quote(ref, safe="")), "question"
        ),
        timestamp=now,
        result=ResultSpec(success=correct, score_scaled=1.0 if correct else 0.0),
        registration=where.registration,
        course=where.course,
        parent=check,
    )
    if view["done"]:
        emit_statement(
            session,
            person=where.person,
            key=f"placement-done:{ctx.tenant_id}:{ctx.person_id}:{view['placement_id']}",
            verb="completed",
            object=check,
            timestamp=now,
            result=ResultSpec(completion=True),
            registration=where.registration,
            course=where.course,
            parent=_module_ref(base_url, where),
        )
    out = {**_placement_out(view), "correct": correct}
    settle_submission(session, submission, response=out)
    return out


# ---------------------------------------------------------------- activities


def _activity_info(where: _Where, key: str) -> ActivityInfo:
    for info in where.snapshot.catalog.activities.values():
        if info.key == key:
            return info
    raise LaunchRejected("no_activity", "This module has no such activity.", 404)


def activity_for_player(
    session: Session, ctx: LaunchContext, *, key: str
) -> dict[str, Any]:
    """One activity of the launch's module as the player shows it: no answer keys."""
    where = _where(session, ctx)
    info = _activity_info(where, key)
    activity = session.get(Activity, info.id)
    if activity is None:
        raise LaunchRejected("no_activity", "This module has no such activity.", 404)
    content = activity.content or {}
    return {
        "key": activity.key,
        "title": activity.title,
        "kind": activity.kind,
        "minutes": activity.duration_min,
        "url": activity.url,
        "markdown": str(content.get("markdown", "")),
        "questions": [
            {k: v for k, v in q.items() if k not in _ANSWER_FIELDS}
            for q in content.get("questions", [])
            if isinstance(q, dict)
        ],
    }


def submit_attempt(
    session: Session,
    ctx: LaunchContext,
    *,
    client_id: str,
    activity_key: str,
    responses: list[Any],
    minutes: float | None,
    now: dt.datetime,
    base_url: str,
    time_budget_min: float | None = None,
) -> dict[str, Any]:
    """Record an attempt once per ``client_id``: score, next step, grade, statements.

    A repeat of the same id returns the first answer and records nothing.
    """
    where = _where(session, ctx)
    info = _activity_info(where, activity_key)
    submission, fresh = claim_submission(
        session,
        tenant_id=ctx.tenant_id,
        person_id=ctx.person_id,
        client_id=client_id,
        kind=SUBMISSION_ATTEMPT,
    )
    if not fresh:
        return _repeat(submission.response)
    outcome = record_learner_attempt(
        session,
        ctx,
        activity_id=info.id,
        module_id=where.module.id,
        answers=responses,
        now=now,
    )
    attempt = outcome.attempt
    if minutes is not None:
        attempt.started_at = now - dt.timedelta(minutes=minutes)
    activity = session.get(Activity, info.id)
    questions = (
        [
            q
            for q in (activity.content or {}).get("questions", [])
            if isinstance(q, dict)
        ]
        if activity is not None
        else []
    )
    feedback = [
        {
            "correct": i < len(responses) and responses[i] == q.get("answer"),
            "feedback": str(q.get("explanation") or q.get("feedback") or ""),
        }
        for i, q in enumerate(questions)
    ]
    score = attempt.score
    success = None if score is None else score >= PASS_SHARE
    verb = "completed" if success is None else ("passed" if success else "failed")
    emit_statement(
        session,
        person=where.person,
        key=f"attempt:{attempt.id}",
        verb=verb,
        object=ActivityRef(
            _iri(base_url, where, "activities", quote(info.key, safe="")),
            "activity",
            name=info.title,
        ),
        timestamp=now,
        result=ResultSpec(
            success=success,
            completion=True,
            score_scaled=score,
            duration_s=None if minutes is None else minutes * 60.0,
        ),
        registration=where.registration,
        course=where.course,
        parent=_module_ref(base_url, where),
    )
    out = {
        "attempt_id": attempt.id,
        "score": score,
        "success": success,
        "feedback": feedback,
        "next_step": _next(session, ctx, where, now, time_budget_min),
    }
    settle_submission(session, submission, response=out, attempt_id=attempt.id)
    return out


def next_step_within(
    session: Session, ctx: LaunchContext, *, now: dt.datetime, time_budget_min: float
) -> dict[str, Any]:
    """The next step in the launch's module that fits in ``time_budget_min``."""
    return _next(session, ctx, _where(session, ctx), now, time_budget_min)
