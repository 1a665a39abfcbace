"""Use cases across domains: launch -> pull -> decide -> recommend -> grade, directory
import -> pull, and secret rotation.

Each one joins the LTI protocol, the xAPI side and the adaptive engine in one
transaction that its caller (a view or a CLI command) owns; none of those packages
may reach across to another's tables on its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import InvalidToken
from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive.attempts import record_attempt
from adaptive.core.catalogue import ActivityInfo
from adaptive.core.policy import DONE_STATUSES, STATUS_SKIPPED, Recommendation
from adaptive.models import Attempt
from adaptive.module_snapshots import load_module
from adaptive.next_step import next_step
from adaptive.progress_reports import learner_progress
from lti_tool.infra.audit import record_audit
from lti_tool.infra.crypto import secret_box
from lti_tool.infra.db import utcnow
from lti_tool.infra.directory_import import ImportReport, import_people_csv
from lti_tool.infra.models import (
    ROLE_LEARNER,
    Deployment,
    Person,
    Registration,
    ResourceLink,
    ToolKey,
)
from lti_tool.lti.grade_models import GradeOutboxEntry
from lti_tool.lti.grade_outbox import enqueue_grade, grades_offered
from lti_tool.lti.launch_record import LaunchOutcome, record_launch
from lti_tool.lti.launch_token import LaunchContext
from lti_tool.lti.roster_jobs import kick_roster_sync
from xapi import kicks
from xapi.core.profile import EXT_REASON
from xapi.core.statements import ActivityRef
from xapi.identity import people_with_unmatched_statements
from xapi.models import LrsConnection
from xapi.outbox import emit_statement
from xapi.pull import pull_at_launch
from xapi.transaction import after_commit

# ------------------------------------------------------------ launch -> pull


def complete_launch(
    session: Session,
    *,
    registration: Registration,
    tenant: Deployment,
    claims: dict[str, Any],
    lrs_pull_budget_s: float,
) -> LaunchOutcome:
    """Record a validated launch; for a learner, bring in their newest LRS statements;
    for an instructor or admin, queue the course roster sync (NRPS) when offered.

    The pull is bounded by ``lrs_pull_budget_s`` and continues in the background, so
    the landing page decides on what the organisation already knows about them.
    """
    outcome = record_launch(
        session, registration=registration, tenant=tenant, claims=claims
    )
    if outcome.role == ROLE_LEARNER:
        pull_at_launch(session, person_id=outcome.person.id, budget_s=lrs_pull_budget_s)
        if outcome.resource_link is not None:
            send_progress_grade(
                session,
                tenant_id=tenant.id,
                person_id=outcome.person.id,
                resource_link_pk=outcome.resource_link.id,
                now=utcnow(),
            )
    elif outcome.resource_link is not None and outcome.resource_link.nrps_endpoint:
        # An instructor's launch names the course roster: fill the directory with it
        # in the background, once this launch has committed.
        link_pk = outcome.resource_link.id
        after_commit(session, f"nrps_{link_pk}", lambda: kick_roster_sync(link_pk))
    return outcome


# ------------------------------------------------------ directory -> pull


def import_people(
    session: Session, *, tenant_id: int, text: str, dry_run: bool, actor: str
) -> ImportReport:
    """Import a people CSV into the tenant's directory, audited, then pull what the
    LRS already sent about the people it names.

    Statements of people unknown at sync time were only counted
    (``UnmatchedActor``); once the import commits, a background pull per such
    person turns them into evidence. A dry run or a file with errors writes nothing.
    """
    report = import_people_csv(session, tenant_id=tenant_id, text=text, dry_run=dry_run)
    if not report.ok or dry_run:
        return report
    record_audit(
        session,
        actor=actor,
        action="people.import",
        target=f"tenant:{tenant_id}",
        tenant_id=tenant_id,
        details={
            "rows": report.rows,
            "created": report.created,
            "updated": report.updated,
            "identities_added": report.identities_added,
        },
    )
    for person_id in people_with_unmatched_statements(
        session, tenant_id, report.person_ids
    ):
        kicks.continue_pull_after_commit(session, person_id)
    return report


# ------------------------------------------------------- decide -> recommend


@dataclass(frozen=True)
class NextStepPreview:
    """The engine's next recommendation, as the learner page shows it."""

    kind: str
    title: str
    minutes: float
    reason_code: str
    learner_text: str


@dataclass(frozen=True)
class _Decision:
    """The engine's recommendation with the catalogue names a statement about it needs."""

    recommendation: Recommendation
    activity: ActivityInfo | None
    module_id: int
    module_key: str
    module_title: str
    framework_key: str

    def preview(self) -> NextStepPreview:
        return NextStepPreview(
            kind=self.recommendation.kind,
            title=self.activity.title if self.activity else "",
            minutes=self.recommendation.minutes,
            reason_code=self.recommendation.reason.code,
            learner_text=self.recommendation.reason.learner_text,
        )


def preview_next_step(
    session: Session, ctx: LaunchContext, *, module_id: int, now: dt.datetime
) -> NextStepPreview:
    """What this learner should do next in the module, for a page view: records nothing."""
    return _decide(session, ctx, module_id=module_id, now=now).preview()


def recommend_next_step(
    session: Session,
    ctx: LaunchContext,
    *,
    module_id: int,
    now: dt.datetime,
    base_url: str,
) -> NextStepPreview:
    """Ask the engine what this learner should do next, and tell the LRS we did.

    The *recommended* statement goes to the outbox in the caller's transaction;
    its key (learner, module, activity, day) makes repeated launches one statement.
    """
    decision = _decide(session, ctx, module_id=module_id, now=now)
    activity = decision.activity
    person = session.get(Person, ctx.person_id)
    if activity is not None and person is not None:
        catalogue = f"{base_url}/catalogue/{decision.framework_key}"
        emit_statement(
            session,
            person=person,
            key=f"recommended:{person.id}:{decision.module_id}:{activity.id}:{now.date().isoformat()}",
            verb="recommended",
            object=ActivityRef(
                f"{catalogue}/activities/{activity.key}",
                "activity",
                name=activity.title,
            ),
            timestamp=now,
            parent=ActivityRef(
                f"{catalogue}/modules/{decision.module_key}",
                "module",
                name=decision.module_title,
            ),
            context_extensions={
                EXT_REASON: {
                    "code": decision.recommendation.reason.code,
                    "numbers": _json_safe(decision.recommendation.reason.numbers),
                }
            },
        )
    return decision.preview()


def _decide(
    session: Session, ctx: LaunchContext, *, module_id: int, now: dt.datetime
) -> _Decision:
    return _decide_for(
        session,
        tenant_id=ctx.tenant_id,
        person_id=ctx.person_id,
        module_id=module_id,
        now=now,
    )


def _decide_for(
    session: Session,
    *,
    tenant_id: int,
    person_id: int,
    module_id: int,
    now: dt.datetime,
) -> _Decision:
    recommendation = next_step(
        session,
        tenant_id=tenant_id,
        person_id=person_id,
        module_id=module_id,
        now=now,
    )
    # Titles and keys come from the cached module snapshot, not from fresh queries.
    snapshot = load_module(session, tenant_id=tenant_id, module_id=module_id)
    activity = (
        snapshot.catalog.activities.get(recommendation.activity_id)
        if recommendation.activity_id is not None
        else None
    )
    return _Decision(
        recommendation=recommendation,
        activity=activity,
        module_id=snapshot.module_id,
        module_key=snapshot.module_key,
        module_title=snapshot.title,
        framework_key=snapshot.framework_key,
    )


def _json_safe(value: Any) -> Any:
    """Reason numbers may hold numpy scalars or tuples; xAPI extensions need JSON."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item"):
        return value.item()
    return value


# ------------------------------------------------------------ answer -> grade


def record_learner_attempt(
    session: Session,
    ctx: LaunchContext,
    *,
    activity_id: int,
    module_id: int,
    answers: list[Any],
    now: dt.datetime,
    score: float | None = None,
) -> AnswerOutcome:
    """Record a learner's finished attempt, decide their next step, queue their grade.

    The learner's journey calls this for every answer or completion (answer ->
    update -> decide -> write back); the grade joins the outbox in the same
    transaction, so the two commit together, and its comment is the step returned.
    """
    attempt = record_attempt(
        session,
        tenant_id=ctx.tenant_id,
        person_id=ctx.person_id,
        activity_id=activity_id,
        answers=answers,
        now=now,
        module_id=module_id,
        score=score,
    )
    step = _decide(session, ctx, module_id=module_id, now=now).preview()
    if ctx.resource_link_pk is not None:
        send_progress_grade(
            session,
            tenant_id=ctx.tenant_id,
            person_id=ctx.person_id,
            resource_link_pk=ctx.resource_link_pk,
            now=now,
            next_step=step,
        )
    return AnswerOutcome(attempt=attempt, next_step=step)


@dataclass(frozen=True)
class AnswerOutcome:
    """A recorded attempt and the next step the engine chose after it."""

    attempt: Attempt
    next_step: NextStepPreview


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
) -> ProgressGrade:
    """Progress 0..1 from the engine's skill estimates; completed when targets are met.

    A skill at target (or skipped by a manager) counts in full; any other counts by
    the engine's probability that the learner is at its target level.
    """
    rows = learner_progress(
        session,
        tenant_id=tenant_id,
        person_id=person_id,
        module_id=module_id,
        now=now,
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
            _decide_for(
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
) -> GradeOutboxEntry | None:
    """Queue this learner's progress on the link for the LMS's gradebook (AGS).

    Nothing happens for a link without the AGS claim or without a module.
    ``next_step``, when the caller has just decided it, spares a second decision.
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
    grade = progress_grade(
        session,
        tenant_id=tenant_id,
        person_id=person_id,
        module_id=link.module_id,
        now=now,
        next_step=next_step,
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


# ------------------------------------------------------------ secret rotation


@dataclass(frozen=True)
class ReencryptReport:
    signing_keys: int
    lrs_secrets: int


def reencrypt_secrets(
    session: Session, *, progress: Callable[[str, int, int], None] | None = None
) -> ReencryptReport:
    """Re-encrypt every stored secret under the first PATHWISE_ENCRYPTION_KEY.

    After it, keys further down the list decrypt nothing and can be dropped. One
    transaction: if any secret cannot be decrypted with the configured keys, the
    error names it and nothing is written. Tool signing keys and LRS passwords
    belong to different packages, hence a use case rather than a key service.
    """
    box = secret_box()
    tool_keys = list(session.scalars(select(ToolKey).order_by(ToolKey.id)))
    for done, key in enumerate(tool_keys, 1):
        key.private_key_encrypted = _rotated(
            box.rotate, key.private_key_encrypted, f"signing key {key.kid}"
        )
        if progress:
            progress("signing keys", done, len(tool_keys))
    connections = list(
        session.scalars(select(LrsConnection).order_by(LrsConnection.id))
    )
    for done, connection in enumerate(connections, 1):
        connection.secret_encrypted = _rotated(
            box.rotate,
            connection.secret_encrypted,
            f"LRS connection {connection.name!r}",
        )
        if progress:
            progress("LRS secrets", done, len(connections))
    session.flush()
    return ReencryptReport(signing_keys=len(tool_keys), lrs_secrets=len(connections))


def _rotated(rotate: Callable[[str], str], token: str, what: str) -> str:
    try:
        return rotate(token)
    except InvalidToken:
        raise ValueError(
            f"{what} cannot be decrypted with any key in PATHWISE_ENCRYPTION_KEY; "
            "nothing was re-encrypted"
        ) from None
