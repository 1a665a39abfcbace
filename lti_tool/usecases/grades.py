"""Use case: an answer -> model update -> next step -> the learner's grade in the outbox."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from adaptive.attempts import record_attempt
from adaptive.core.decisions import DONE_STATUSES, STATUS_SKIPPED, Recommendation
from adaptive.learner_context import InModule, learner_in_module
from adaptive.learner_store import load_learner, lock_learner
from adaptive.models import Attempt
from adaptive.module_snapshots import load_module
from adaptive.next_step import attempt_history, history_record, next_steps
from adaptive.progress_reports import learner_progress
from lti_tool.infra.models import Person, ResourceLink
from lti_tool.lti.grade_models import GradeOutboxEntry
from lti_tool.lti.grade_outbox import enqueue_grade, grades_offered
from lti_tool.lti.launch_token import LaunchContext
from lti_tool.usecases.next_steps import NextStepPreview, decide_for, decision_in


def record_learner_attempt(
    session: Session,
    ctx: LaunchContext,
    *,
    activity_id: int,
    module_id: int,
    answers: list[Any],
    now: dt.datetime,
    score: float | None = None,
    started_at: dt.datetime | None = None,
    time_budget_min: float | None = None,
) -> AnswerOutcome:
    """Record a learner's finished attempt, decide their next step, queue their grade.

    The learner's journey calls this for every answer or completion (answer ->
    update -> decide -> write back); the grade joins the outbox in the same
    transaction, so the two commit together, and its comment is the step returned.
    The learner's model is read once, updated in place, and serves the decision,
    the step fitted to ``time_budget_min`` and the grade's progress alike.
    """
    # One answer of this learner at a time: the update is read-modify-write.
    lock_learner(session, tenant_id=ctx.tenant_id, person_id=ctx.person_id)
    # The history is read once: the update's "taught before" and the decision.
    snapshot = load_module(session, tenant_id=ctx.tenant_id, module_id=module_id)
    history = attempt_history(
        session,
        tenant_id=ctx.tenant_id,
        person_id=ctx.person_id,
        catalog=snapshot.catalog,
    )
    # The learner is read once, after the lock: the update changes the model in
    # place and saves every skill it touches, so the decision goes on from it (a
    # second read would rebuild the same model from the rows just written). An
    # activity outside the module is judged in a catalogue of its own, whose scale
    # may differ: the decision then reads the learner at the module's.
    state = (
        load_learner(
            session,
            tenant_id=ctx.tenant_id,
            person_id=ctx.person_id,
            n_levels=snapshot.catalog.n_levels,
        )
        if activity_id in snapshot.catalog.activities
        else None
    )
    attempt = record_attempt(
        session,
        tenant_id=ctx.tenant_id,
        person_id=ctx.person_id,
        activity_id=activity_id,
        answers=answers,
        now=now,
        started_at=started_at,
        module_id=module_id,
        score=score,
        earlier={r.activity_id for r in history},
        state=state,
    )
    history.append(
        history_record(
            snapshot.catalog,
            activity_id,
            at=now,
            score=attempt.score,
            refresher=attempt.refresher,
        )
    )
    loaded = learner_in_module(
        session,
        tenant_id=ctx.tenant_id,
        person_id=ctx.person_id,
        module_id=module_id,
        state=state,
    )
    # The gradebook's comment names the step without the sitting's time budget (a
    # budget is this sitting's, not the learner's path); the learner sees the one
    # that fits their budget. Without a budget both are one decision.
    steps = next_steps(
        session,
        tenant_id=ctx.tenant_id,
        person_id=ctx.person_id,
        module_id=module_id,
        now=now,
        time_budgets=(None,) if time_budget_min is None else (None, time_budget_min),
        loaded=loaded,
        history=history,
    )
    step = decision_in(loaded[0], steps[0]).preview()
    # One report per answer: the grade and the mastery announcement both read it.
    report = learner_progress(
        session,
        tenant_id=ctx.tenant_id,
        person_id=ctx.person_id,
        module_id=module_id,
        now=now,
        loaded=loaded,
    )
    if ctx.resource_link_pk is not None:
        send_progress_grade(
            session,
            tenant_id=ctx.tenant_id,
            person_id=ctx.person_id,
            resource_link_pk=ctx.resource_link_pk,
            now=now,
            next_step=step,
            loaded=loaded,
            report=report,
        )
    return AnswerOutcome(
        attempt=attempt,
        next_step=step,
        within_budget=steps[-1],
        loaded=loaded,
        report=report,
    )


@dataclass(frozen=True)
class AnswerOutcome:
    """A recorded attempt and the next step the engine chose after it."""

    attempt: Attempt
    next_step: NextStepPreview
    #: The step fitted to the learner's time budget (``next_step``'s without one).
    within_budget: Recommendation
    #: The learner's model as updated by the attempt, for whatever reads it next.
    loaded: InModule
    #: ``learner_progress`` of that model in the attempt's module (one row a skill).
    report: list[dict[str, Any]]


@dataclass(frozen=True)
class ProgressGrade:
    """A learner's progress toward their role's targets, as the gradebook gets it."""

    progress: float
    completed: bool
    comment: str


def progress_grade(
    session: Session,
    *,
    tenant_id: int,
    person_id: int,
    module_id: int,
    now: dt.datetime,
    next_step: NextStepPreview | None = None,
    loaded: InModule | None = None,
    report: list[dict[str, Any]] | None = None,
) -> ProgressGrade:
    """Progress 0..1 from the engine's skill estimates; completed when targets are met.

    A skill at target (or skipped by a manager) counts in full; any other counts by
    the engine's probability that the learner is at its target level. ``loaded``
    is the learner in ``module_id`` when the caller has just read it, ``report``
    its ``learner_progress`` when the caller has already computed that.
    """
    rows = (
        report
        if report is not None
        else learner_progress(
            session,
            tenant_id=tenant_id,
            person_id=person_id,
            module_id=module_id,
            now=now,
            loaded=loaded,
        )
    )
    done = [r["status"] in DONE_STATUSES or r["status"] == STATUS_SKIPPED for r in rows]
    shares = [
        1.0 if d else float(r["p_target"]) for d, r in zip(done, rows, strict=True)
    ]
    completed = bool(rows) and all(done)
    progress = sum(shares) / len(shares) if shares else 0.0
    if completed:
        comment = "You have reached the level your role needs."
    else:
        step = next_step or (
            decide_for(
                session,
                tenant_id=tenant_id,
                person_id=person_id,
                module_id=module_id,
                now=now,
            ).preview()
        )
        comment = _recommendation_sentence(step)
    return ProgressGrade(progress=progress, completed=completed, comment=comment)


def _recommendation_sentence(step: NextStepPreview) -> str:
    """The next recommendation in one sentence (the score's ``comment``)."""
    reason = step.learner_text.strip().split(". ")[0].rstrip(".")
    if step.title and reason:
        return f"Next: {step.title} ({reason[0].lower()}{reason[1:]})."
    if step.title:
        return f"Next: {step.title}."
    return f"{reason}." if reason else ""


def send_progress_grade(
    session: Session,
    *,
    tenant_id: int,
    person_id: int,
    resource_link_pk: int,
    now: dt.datetime,
    next_step: NextStepPreview | None = None,
    loaded: InModule | None = None,
    report: list[dict[str, Any]] | None = None,
) -> GradeOutboxEntry | None:
    """Queue this learner's progress on the link for the LMS's gradebook (AGS).

    Nothing happens for a link without the AGS claim or without a module.
    ``next_step``, when the caller has just decided it, spares a second decision;
    ``loaded``, the learner the caller has just read, a second read if it is in
    the link's module; ``report``, that learner's ``learner_progress`` there, a
    second report.
    """
    link = session.get(ResourceLink, resource_link_pk)
    person = session.get(Person, person_id)
    if (
        link is None
        or person is None
        or link.tenant_id != tenant_id
        or link.module_id is None
        or not grades_offered(link)
    ):
        return None
    # What the caller read is of its module: only the link's module may reuse it.
    same_module = loaded is not None and loaded[0].module_id == link.module_id
    grade = progress_grade(
        session,
        tenant_id=tenant_id,
        person_id=person_id,
        module_id=link.module_id,
        now=now,
        next_step=next_step,
        loaded=loaded if same_module else None,
        report=report if same_module else None,
    )
    return enqueue_grade(
        session,
        person=person,
        resource_link=link,
        progress=grade.progress,
        completed=grade.completed,
        comment=grade.comment,
        now=now,
    )
