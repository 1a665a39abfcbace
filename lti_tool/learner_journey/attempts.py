"""Use cases of the learner API: an activity for the player, and attempts once each.

An attempt goes through ``record_learner_attempt`` (attempt, model, grade outbox) and
becomes an xAPI statement in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from sqlalchemy.orm import Session

from adaptive.core.answers import check_answers, question_type, response_problem
from adaptive.models import Activity
from adaptive.module_snapshots import snapshot_questions
from adaptive.submission_models import SUBMISSION_ATTEMPT
from adaptive.submissions import claim_submission, settle_submission
from lti_tool.learner_journey.context import (
    activity_info,
    decided_step,
    iri,
    module_ref,
    repeated_answer,
    where_of,
)
from lti_tool.learner_journey.mastery import announce_mastery
from lti_tool.lti.errors import LaunchRejected
from lti_tool.lti.launch_token import LaunchContext
from lti_tool.usecases.grades import record_learner_attempt
from xapi.core.statements import ActivityRef, ResultSpec
from xapi.outbox import emit_statement

# Question fields a player must not see before answering.
_ANSWER_FIELDS = frozenset({"answer", "accepted", "explanation", "feedback"})
# A scored attempt at or above this share of right answers is "passed".
PASS_SHARE = 0.8


def activity_for_player(
    session: Session, ctx: LaunchContext, *, key: str
) -> dict[str, Any]:
    """One activity of the launch's module as the player shows it: no answer keys."""
    where = where_of(session, ctx)
    info = activity_info(where, key)
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
            {
                **{k: v for k, v in q.items() if k not in _ANSWER_FIELDS},
                "type": question_type(q),
            }
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
    where = where_of(session, ctx)
    info = activity_info(where, activity_key)
    # The module's snapshot holds the activity's questions (the row is not read).
    questions = snapshot_questions(where.snapshot, info.id)
    # Before anything is recorded: a malformed answer is the client's bug, and
    # scoring it as wrong would record what the learner never answered.
    problems = [
        f"responses[{i}]: {problem}"
        for i, (q, r) in enumerate(zip(questions, responses, strict=False))
        if (problem := response_problem(q, r)) is not None
    ]
    if problems:
        raise LaunchRejected("invalid_responses", "; ".join(problems), 422)
    submission, fresh = claim_submission(
        session,
        tenant_id=ctx.tenant_id,
        person_id=ctx.person_id,
        client_id=client_id,
        kind=SUBMISSION_ATTEMPT,
    )
    if not fresh:
        return repeated_answer(submission.response)
    outcome = record_learner_attempt(
        session,
        ctx,
        activity_id=info.id,
        module_id=where.module.id,
        answers=responses,
        now=now,
        started_at=None if minutes is None else now - dt.timedelta(minutes=minutes),
        time_budget_min=time_budget_min,
    )
    attempt = outcome.attempt
    feedback = [
        {
            "correct": right,
            "feedback": str(q.get("explanation") or q.get("feedback") or ""),
        }
        for q, right in zip(questions, check_answers(questions, responses), strict=True)
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
            iri(base_url, where, "activities", quote(info.key, safe="")),
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
        parent=module_ref(base_url, where),
        new_event=True,  # the attempt row was inserted just now
    )
    announce_mastery(
        session,
        ctx,
        where,
        base_url=base_url,
        now=now,
        loaded=outcome.loaded,
        report=outcome.report,
    )
    out = {
        "attempt_id": attempt.id,
        "score": score,
        "success": success,
        "feedback": feedback,
        "next_step": decided_step(
            session,
            ctx,
            where,
            now,
            time_budget_min,
            recommended_from=base_url,
            decided=outcome.within_budget,
        ),
    }
    settle_submission(session, submission, response=out, attempt_id=attempt.id)
    return out
