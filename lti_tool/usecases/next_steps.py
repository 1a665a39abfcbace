"""Use case: the engine's next step for a learner, and the *recommended* statement."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from adaptive.core.catalogue import ActivityInfo
from adaptive.core.policy import Recommendation
from adaptive.module_snapshots import ModuleSnapshot, load_module
from adaptive.next_step import next_step
from lti_tool.infra.models import Person
from lti_tool.lti.launch_token import LaunchContext
from xapi.core.profile import EXT_REASON
from xapi.core.statements import ActivityRef
from xapi.outbox import emit_statement


@dataclass(frozen=True)
class NextStepPreview:
    """The engine's next recommendation, as the learner page shows it."""

    kind: str
    title: str
    minutes: float
    reason_code: str
    learner_text: str


@dataclass(frozen=True)
class Decision:
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
    return decide(session, ctx, module_id=module_id, now=now).preview()


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
    decision = decide(session, ctx, module_id=module_id, now=now)
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


def decide(
    session: Session, ctx: LaunchContext, *, module_id: int, now: dt.datetime
) -> Decision:
    return decide_for(
        session,
        tenant_id=ctx.tenant_id,
        person_id=ctx.person_id,
        module_id=module_id,
        now=now,
    )


def decide_for(
    session: Session,
    *,
    tenant_id: int,
    person_id: int,
    module_id: int,
    now: dt.datetime,
) -> Decision:
    recommendation = next_step(
        session,
        tenant_id=tenant_id,
        person_id=person_id,
        module_id=module_id,
        now=now,
    )
    # Titles and keys come from the cached module snapshot, not from fresh queries.
    snapshot = load_module(session, tenant_id=tenant_id, module_id=module_id)
    return decision_in(snapshot, recommendation)


def decision_in(snapshot: ModuleSnapshot, recommendation: Recommendation) -> Decision:
    """The engine's recommendation named from the module it was made in."""
    activity = (
        snapshot.catalog.activities.get(recommendation.activity_id)
        if recommendation.activity_id is not None
        else None
    )
    return Decision(
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
