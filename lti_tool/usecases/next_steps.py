"""Use case: the engine's next step for a learner, with the catalogue names it needs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from adaptive.core.catalogue import ActivityInfo
from adaptive.core.decisions import Recommendation
from adaptive.module_snapshots import ModuleSnapshot, load_module
from adaptive.next_step import next_step
from lti_tool.lti.launch_token import LaunchContext

# The engine's "nothing to offer although targets are unmet": a catalogue defect.
BLOCKED_CODES = frozenset({"no_activity_available"})
# A manager page checks at most this many learners' paths for a defect.
BLOCKED_CHECK_LIMIT = 200


@dataclass(frozen=True)
class NextStepPreview:
    """The engine's next recommendation, as the learner page shows it."""

    kind: str
    title: str
    minutes: float
    reason_code: str
    learner_text: str
    #: The activity to open in the player, when the step is one.
    activity_key: str | None = None


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
            activity_key=self.activity.key if self.activity else None,
        )


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


def is_blocked(recommendation: Recommendation) -> bool:
    """The engine has nothing for unmet targets: the catalogue lacks content."""
    return recommendation.kind == "blocked" or (
        recommendation.reason.code in BLOCKED_CODES
    )


def blocked_paths(
    session: Session,
    *,
    tenant_id: int,
    module_id: int,
    person_ids: Sequence[int],
    now: dt.datetime,
) -> dict[int, str]:
    """Learners whose path the catalogue blocks, with the engine's sentence for managers.

    Reads only; at most ``BLOCKED_CHECK_LIMIT`` learners are checked (a page view).
    """
    out: dict[int, str] = {}
    for person_id in person_ids[:BLOCKED_CHECK_LIMIT]:
        rec = next_step(
            session,
            tenant_id=tenant_id,
            person_id=person_id,
            module_id=module_id,
            now=now,
        )
        if is_blocked(rec):
            out[person_id] = rec.reason.manager_text
    return out


def json_safe(value: Any) -> Any:
    """Reason numbers may hold numpy scalars or tuples; xAPI extensions need JSON."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if hasattr(value, "item"):
        return value.item()
    return value
