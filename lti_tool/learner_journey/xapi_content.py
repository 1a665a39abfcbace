"""Use cases of the learner API: external xAPI activities, launched and heard back from.

The player asks for a launch URL (``xapi_launch``); the content then talks to the
Pathwise LRS facade with the short-lived credential in it. Statements it sends go
to the organisation's LRS through the outbox, and its outcome on the launched
activity (``completed``, ``passed``, ``failed``) becomes one attempt for the engine.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from adaptive.core.catalogue_format import XAPI_ACTIVITY_ID, XAPI_TYPE
from adaptive.models import Activity
from adaptive.submission_models import SUBMISSION_XAPI_OUTCOME
from adaptive.submissions import claim_submission, settle_submission
from lti_tool.infra.models import Launch, Person
from lti_tool.learner_journey.context import activity_info, where_of
from lti_tool.learner_journey.mastery import announce_mastery
from lti_tool.lti.errors import LaunchRejected
from lti_tool.lti.launch_token import LaunchContext
from lti_tool.usecases.grades import record_learner_attempt
from xapi.content_state import StateKey, check_state_request
from xapi.core.content import content_outcome, launch_url
from xapi.facade import (
    ContentGrant,
    FacadeRefused,
    forward_statements,
    forwarded_statements,
    issue_content_auth,
)
from xapi.identity import actor_for_person

FACADE_PATH = "/xapi/lrs/"


def xapi_launch(
    session: Session,
    ctx: LaunchContext,
    *,
    key: str,
    base_url: str,
    secret_key: str,
    ttl_s: int,
    now: dt.datetime,
) -> dict[str, Any]:
    """The launch URL of an ``xapi`` activity of the launch's module, for this learner.

    Its ``auth`` is a credential for the Pathwise facade, valid ``ttl_s`` seconds and
    only for this learner, registration and activity: never the LRS's own.
    """
    where = where_of(session, ctx)
    info = activity_info(where, key)
    activity = session.get(Activity, info.id)
    content = (activity.content or {}) if activity is not None else {}
    iri = content.get(XAPI_ACTIVITY_ID)
    if activity is None or activity.kind != XAPI_TYPE or not activity.url or not iri:
        raise LaunchRejected(
            "not_xapi", "This activity is not launched as xAPI content.", 409
        )
    expires = now + dt.timedelta(seconds=ttl_s)
    grant = ContentGrant(
        tenant_id=ctx.tenant_id,
        person_id=ctx.person_id,
        launch_id=ctx.launch_id,
        registration=where.registration,
        activity_iri=str(iri),
        activity_key=info.key,
        expires_at=expires,
    )
    url = launch_url(
        activity.url,
        endpoint=base_url.rstrip("/") + FACADE_PATH,
        auth=issue_content_auth(secret_key=secret_key, grant=grant, now=now),
        actor=actor_for_person(session, person=where.person),
        registration=where.registration,
        activity_id=str(iri),
    )
    return {
        "url": url,
        "activity_id": str(iri),
        "registration": where.registration,
        "expires_at": expires.isoformat(),
    }


@dataclass(frozen=True)
class Sitting:
    """A content credential's launch, as it stands now, and the learner's actor."""

    ctx: LaunchContext
    person: Person
    actor: dict[str, Any]


def content_sitting(session: Session, grant: ContentGrant) -> Sitting:
    """The launch a content credential names; 401 once its launch or learner is gone."""
    launch = session.get(Launch, grant.launch_id)
    person = session.get(Person, grant.person_id)
    if (
        launch is None
        or person is None
        or (launch.person_id, launch.tenant_id) != (grant.person_id, grant.tenant_id)
        or person.tenant_id != grant.tenant_id
    ):
        raise FacadeRefused(
            401, "launch_gone", "This launch is no longer known: open it again."
        )
    ctx = LaunchContext(
        launch_id=launch.id,
        person_id=launch.person_id,
        tenant_id=launch.tenant_id,
        role=launch.role,
        expires_at=grant.expires_at,
        resource_link_pk=launch.resource_link_pk,
    )
    return Sitting(
        ctx=ctx, person=person, actor=actor_for_person(session, person=person)
    )


def receive_content_statements(
    session: Session,
    grant: ContentGrant,
    *,
    statements: Sequence[Any],
    statement_id: str | None,
    now: dt.datetime,
    base_url: str,
) -> list[str]:
    """Forward the content's statements; record its outcomes as attempts, once each.

    An outcome is named by its statement id: the content's retry, or the same
    statement sent again, records nothing more.

    Returns:
        The ids of the statements accepted, in order.
    """
    sitting = content_sitting(session, grant)
    forwarded = forward_statements(
        session,
        grant,
        actor=sitting.actor,
        statements=statements,
        statement_id=statement_id,
    )
    outcomes = [
        (str(s["id"]), outcome)
        for s in forwarded
        if (outcome := content_outcome(s, activity_id=grant.activity_iri))
    ]
    if outcomes:
        _record_outcomes(session, sitting, grant, outcomes, now=now, base_url=base_url)
    return [str(s["id"]) for s in forwarded]


def _record_outcomes(
    session: Session,
    sitting: Sitting,
    grant: ContentGrant,
    outcomes: Sequence[tuple[str, Any]],
    *,
    now: dt.datetime,
    base_url: str,
) -> None:
    ctx = sitting.ctx
    where = where_of(session, ctx)
    info = activity_info(where, grant.activity_key)
    recorded = False
    for statement_id, outcome in outcomes:
        submission, fresh = claim_submission(
            session,
            tenant_id=ctx.tenant_id,
            person_id=ctx.person_id,
            client_id=str(
                uuid.uuid5(uuid.NAMESPACE_URL, f"pathwise:xapi-outcome:{statement_id}")
            ),
            kind=SUBMISSION_XAPI_OUTCOME,
        )
        if not fresh:
            continue
        answer = record_learner_attempt(
            session,
            ctx,
            activity_id=info.id,
            module_id=where.module.id,
            answers=[],
            now=now,
            score=outcome.score,
        )
        settle_submission(
            session,
            submission,
            response={"statement_id": statement_id, "verb": outcome.verb},
            attempt_id=answer.attempt.id,
        )
        recorded = True
    if recorded:
        announce_mastery(session, ctx, where, base_url=base_url, now=now)


def content_state_key(
    session: Session,
    grant: ContentGrant,
    *,
    activity_id: str | None,
    agent: str | None,
    registration: str | None,
    state_id: str | None,
) -> StateKey:
    """The State API document a request names, once it is this credential's own."""
    sitting = content_sitting(session, grant)
    return check_state_request(
        grant,
        actor=sitting.actor,
        activity_id=activity_id,
        agent=agent,
        registration=registration,
        state_id=state_id,
    )


def content_statements_sent(
    session: Session, grant: ContentGrant, *, statement_id: str | None
) -> list[dict[str, Any]]:
    """What this credential's sitting sent (one statement by id, or the latest)."""
    content_sitting(session, grant)
    return forwarded_statements(session, grant, statement_id=statement_id)
