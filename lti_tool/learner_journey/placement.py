"""Use cases of the learner API: the placement check, its answers once each, in xAPI."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from sqlalchemy.orm import Session

from adaptive.models import PlacementSession
from adaptive.placement_sessions import answer_placement, start_placement
from adaptive.submission_models import SUBMISSION_PLACEMENT_ANSWER
from adaptive.submissions import claim_submission, settle_submission
from lti_tool.learner_journey.context import (
    iri,
    module_ref,
    repeated_answer,
    where_of,
)
from lti_tool.learner_journey.mastery import announce_mastery
from lti_tool.lti.errors import LaunchRejected
from lti_tool.lti.launch_token import LaunchContext
from xapi.core.statements import ActivityRef, ResultSpec
from xapi.outbox import emit_statement


def open_placement(
    session: Session, ctx: LaunchContext, *, now: dt.datetime
) -> dict[str, Any]:
    """Start the placement check, or resume the learner's open one."""
    where = where_of(session, ctx)
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
    where = where_of(session, ctx)
    submission, fresh = claim_submission(
        session,
        tenant_id=ctx.tenant_id,
        person_id=ctx.person_id,
        client_id=client_id,
        kind=SUBMISSION_PLACEMENT_ANSWER,
    )
    if not fresh:
        return repeated_answer(submission.response)
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
        iri(base_url, where, "modules", where.snapshot.module_key, "placement"),
        "placement",
        name=f"{where.snapshot.title}: placement check",
    )
    emit_statement(
        session,
        person=where.person,
        key=f"placement-answer:{ctx.tenant_id}:{ctx.person_id}:{client_id}",
        verb="answered",
        object=ActivityRef(
            iri(base_url, where, "questions", quote(ref, safe="")), "question"
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
            parent=module_ref(base_url, where),
        )
    announce_mastery(session, ctx, where, base_url=base_url, now=now)
    out = {**_placement_out(view), "correct": correct}
    settle_submission(session, submission, response=out)
    return out
