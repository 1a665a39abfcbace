"""Use case: a validated launch -> LRS pull -> grade (learner) or roster sync (instructor)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from lti_tool.infra.db import utcnow
from lti_tool.infra.models import ROLE_LEARNER, Deployment, Registration
from lti_tool.lti.launch_record import LaunchOutcome, record_launch
from lti_tool.lti.roster_jobs import kick_roster_sync
from lti_tool.usecases.grades import send_progress_grade
from xapi.pull import pull_at_launch
from xapi.transaction import after_commit


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
