"""xAPI: the State API of the LRS facade: what external content saves to resume.

Documents are kept per learner, registration, activity and ``stateId``; the learner
and registration come from the content's credential, never from the request alone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xapi.core.content import judge_content_statement
from xapi.facade import ContentGrant, FacadeRefused
from xapi.journey_models import ContentState

MAX_STATE_BYTES = 256 * 1024


@dataclass(frozen=True)
class StateKey:
    """A State API document as the content names it (learner fixed by the grant)."""

    activity_iri: str
    state_id: str | None


def check_state_request(
    grant: ContentGrant,
    *,
    actor: Mapping[str, Any],
    activity_id: str | None,
    agent: str | None,
    registration: str | None,
    state_id: str | None,
) -> StateKey:
    """The state a request names, once it is this grant's learner and registration.

    Raises:
        FacadeRefused: 400 (a parameter missing or malformed) or 403 (another
        learner, registration or activity).
    """
    if not activity_id or not agent:
        raise FacadeRefused(
            400, "missing_parameter", "activityId and agent are required."
        )
    try:
        named = json.loads(agent)
    except ValueError:
        raise FacadeRefused(400, "bad_agent", "agent is not JSON.") from None
    judged = judge_content_statement(
        {
            "actor": named,
            "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
            "object": {"id": activity_id},
            "context": {"registration": registration or ""},
        },
        actor=actor,
        registration=grant.registration,
    )
    if judged is not None:
        raise FacadeRefused.of(judged)
    if activity_id != grant.activity_iri and not activity_id.startswith(
        grant.activity_iri.rstrip("/") + "/"
    ):
        raise FacadeRefused(
            403, "other_activity", "This credential is for another activity."
        )
    return StateKey(activity_iri=activity_id, state_id=state_id)


def _state_rows(session: Session, grant: ContentGrant, key: StateKey) -> Any:
    query = select(ContentState).where(
        ContentState.tenant_id == grant.tenant_id,
        ContentState.person_id == grant.person_id,
        ContentState.registration == grant.registration,
        ContentState.activity_iri == key.activity_iri,
    )
    if key.state_id is not None:
        query = query.where(ContentState.state_id == key.state_id)
    return session.scalars(query)


def read_state(
    session: Session, grant: ContentGrant, key: StateKey
) -> ContentState | list[str] | None:
    """One document (None when absent), or with no ``stateId`` the ids stored."""
    rows = list(_state_rows(session, grant, key))
    if key.state_id is None:
        return sorted(r.state_id for r in rows)
    return rows[0] if rows else None


def write_state(
    session: Session,
    grant: ContentGrant,
    key: StateKey,
    *,
    body: bytes,
    content_type: str,
    merge: bool,
) -> None:
    """Store a document (PUT), or merge a JSON object into the stored one (POST)."""
    if key.state_id is None:
        raise FacadeRefused(400, "missing_parameter", "stateId is required.")
    if len(body) > MAX_STATE_BYTES:
        raise FacadeRefused(413, "state_too_large", "This state document is too large.")
    found = read_state(session, grant, key)
    row = found if isinstance(found, ContentState) else None
    if merge:
        body, content_type = _merged(row, body, content_type)
    if row is None:
        session.add(
            ContentState(
                tenant_id=grant.tenant_id,
                person_id=grant.person_id,
                registration=grant.registration,
                activity_iri=key.activity_iri,
                state_id=key.state_id,
                content_type=content_type[:200],
                body=body,
            )
        )
    else:
        row.body, row.content_type = body, content_type[:200]
    session.flush()


def _merged(
    row: ContentState | None, body: bytes, content_type: str
) -> tuple[bytes, str]:
    """xAPI's POST to a document: JSON objects merge at the top level."""
    try:
        incoming = json.loads(body)
    except ValueError:
        raise FacadeRefused(400, "not_json", "POST merges JSON objects only.") from None
    if not isinstance(incoming, dict):
        raise FacadeRefused(400, "not_json", "POST merges JSON objects only.")
    if row is None:
        return body, "application/json"
    try:
        stored = json.loads(row.body)
    except ValueError:
        stored = None
    if not isinstance(stored, dict):
        raise FacadeRefused(
            400, "not_json", "The stored document is not a JSON object to merge into."
        )
    return json.dumps({**stored, **incoming}).encode(), "application/json"


def delete_state(session: Session, grant: ContentGrant, key: StateKey) -> int:
    """Delete one document, or with no ``stateId`` all of this activity's."""
    count = 0
    for row in list(_state_rows(session, grant, key)):
        session.delete(row)
        count += 1
    session.flush()
    return count
