"""Use cases of the learner API: the placement check, its answers once each, in xAPI."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from sqlalchemy.orm import Session

from adaptive.models import PlacementSession
from adaptive.placement_sessions import (
    STOP_SKIPPED,
    answer_placement,
    current_placement,
    skip_placement,
    start_placement,
)
from adaptive.submission_models import SUBMISSION_PLACEMENT_ANSWER
from adaptive.submissions import claim_submission, settle_submission
from lti_tool.learner_journey.context import (
    Where,
    iri,
    module_ref,
    repeated_answer,
    where_of,
)
from lti_tool.learner_journey.mastery import announce_mastery
from lti_tool.learner_journey.path import progress_and_evidence
from lti_tool.learner_journey.path_reasons import minutes_saved, placed_at_target
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
    return _placement_out(session, ctx, where, view, now)


def placement_page(
    session: Session, ctx: LaunchContext, *, now: dt.datetime
) -> dict[str, Any]:
    """The placement page as it stands, for a page view: reads only.

    ``started`` is false before the first question is chosen (the page's script
    starts the check through the API); otherwise the same answer as the API's.
    """
    where = where_of(session, ctx)
    view = current_placement(
        session,
        tenant_id=ctx.tenant_id,
        person_id=ctx.person_id,
        module_id=where.module.id,
    )
    if view is None or (not view["done"] and view["question"] is None):
        return {
            "started": False,
            "module": where.snapshot.title,
            "budget": where.snapshot.placement_budget,
        }
    return {
        "started": True,
        "module": where.snapshot.title,
        **_placement_out(session, ctx, where, view, now),
    }


def skip_placement_once(
    session: Session, ctx: LaunchContext, *, now: dt.datetime
) -> dict[str, Any]:
    """ "Start from the beginning": close the check as skipped; a repeat changes nothing."""
    where = where_of(session, ctx)
    view = skip_placement(
        session,
        tenant_id=ctx.tenant_id,
        person_id=ctx.person_id,
        module_id=where.module.id,
        now=now,
    )
    return _placement_out(session, ctx, where, view, now)


def _placement_out(
    session: Session,
    ctx: LaunchContext,
    where: Where,
    view: dict[str, Any],
    now: dt.datetime,
) -> dict[str, Any]:
    out = {k: view[k] for k in ("placement_id", "done", "asked", "budget", "question")}
    out["summary"] = (
        placement_summary(
            session, ctx, where, now=now, skipped=view["stop_code"] == STOP_SKIPPED
        )
        if view["done"]
        else None
    )
    return out


def placement_summary(
    session: Session,
    ctx: LaunchContext,
    where: Where,
    *,
    now: dt.datetime,
    skipped: bool,
) -> dict[str, Any]:
    """What the check showed: the skills placed at the role's level, minutes saved.

    A skill counts when the model has it at target and placement answers are part
    of its evidence; the minutes are the catalogue's activities on those skills.
    """
    rows, evidence = progress_and_evidence(session, ctx, where, now=now)
    placed = [r for r in rows if placed_at_target(r, evidence[r["skill_id"]])]
    names = [r["name"] for r in placed]
    saved = minutes_saved(
        where.snapshot.catalog, {r["skill_id"]: r["target"] for r in placed}
    )
    return {
        "skipped": skipped,
        "text": _summary_text(names, saved, skipped=skipped),
        "placed": [
            {
                "skill_id": r["skill_id"],
                "name": r["name"],
                "level_name": r["target_name"],
            }
            for r in placed
        ],
        "minutes_saved": saved,
    }


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _summary_text(names: list[str], minutes: float, *, skipped: bool) -> str:
    if names:
        return (
            f"You already show {_and(names)} at your role's level: we skip "
            f"{'it' if len(names) == 1 else 'them'} (about {minutes:g} minutes saved). "
            f"A short check confirms {'it' if len(names) == 1 else 'each one'}."
        )
    if skipped:
        return (
            "You chose to start from the beginning: your path covers every skill "
            "your role needs."
        )
    return (
        "The check found no skill already at your role's level: your path starts "
        "from the beginning."
    )


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
    out = {**_placement_out(session, ctx, where, view, now), "correct": correct}
    settle_submission(session, submission, response=out)
    return out
