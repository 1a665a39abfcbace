"""LTI protocol jobs: sync a course roster (NRPS) into the people directory (RQ).

Enqueued after an instructor's launch that carries the Names and Roles claim (never
run inside the launch request) and by ``pathwise people sync-roster``.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from lti_tool.infra.audit import record_audit
from lti_tool.infra.db import session_scope
from lti_tool.infra.models import Deployment, Registration, ResourceLink
from lti_tool.infra.queue import QUEUE_SYNC, enqueue, job_queue
from lti_tool.infra.store import make_store
from lti_tool.lti.nrps import RosterError, StoredTokenConnector, sync_roster
from lti_tool.lti.tool_conf import to_lti_registration
from xapi import kicks
from xapi.identity import people_with_unmatched_statements

log = logging.getLogger(__name__)

# A class's instructors launch often; the roster changes rarely.
ROSTER_INTERVAL_S = 900
THROTTLE_KEY_PREFIX = "nrps_roster_sync:"


def kick_roster_sync(resource_link_pk: int) -> None:
    """Sync the link's roster in the background (at most once per interval)."""
    enqueue(sync_course_roster, resource_link_pk, queue=QUEUE_SYNC)


def sync_course_roster(
    resource_link_pk: int, force: bool = False, actor: str | None = None
) -> dict[str, Any]:
    """Read the link's course roster from the LMS into the directory and commit;
    then pull what the LRS sent earlier about members it did not know.

    Skipped when the same link was synced within ``ROSTER_INTERVAL_S``, unless
    ``force`` (the CLI). With ``actor`` (an admin's command) the sync is audited;
    the background syncs an instructor's launch starts are not admin actions.
    """
    with session_scope() as session:
        store = make_store(job_queue.connection, session)
        if not force and not store.add_if_absent(
            THROTTLE_KEY_PREFIX + str(resource_link_pk), 1, ROSTER_INTERVAL_S
        ):
            return {"skipped": 1}
        link = session.get(ResourceLink, resource_link_pk)
        tenant = session.get(Deployment, link.tenant_id) if link else None
        registration = (
            session.get(Registration, tenant.registration_id) if tenant else None
        )
        if link is None or registration is None:
            return {"missing": 1}
        connector = StoredTokenConnector(
            to_lti_registration(session, registration), store
        )
        try:
            report = sync_roster(session, resource_link=link, connector=connector)
        except RosterError as exc:
            log.warning("roster sync of link %s failed: %s", resource_link_pk, exc)
            if actor is not None:
                _audit_sync(session, actor, link, {"failed": 1, "reason": str(exc)})
            return {"failed": 1}
        # Members the LRS already sent statements for: pull those once this commits.
        waiting = people_with_unmatched_statements(
            session, link.tenant_id, report.person_ids
        )
        for person_id in waiting:
            kicks.continue_pull_after_commit(session, person_id)
        result = {**report.as_dict(), "pulls": len(waiting)}
        if actor is not None:
            _audit_sync(session, actor, link, result)
        return result


def _audit_sync(
    session: Session, actor: str, link: ResourceLink, details: dict[str, Any]
) -> None:
    record_audit(
        session,
        actor=actor,
        action="people.roster_synced",
        target=f"resource_link:{link.id}",
        tenant_id=link.tenant_id,
        details=details,
    )
