"""Adaptive services: claim a client submission id once, and find the answer it got.

The claim is an insert that skips a duplicate of the unique key: a concurrent
duplicate waits for the first transaction, then finds its row and its answer.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive.submission_models import ClientSubmission
from lti_tool.infra.db import insert_skipping_duplicates


class SubmissionKindMismatch(ValueError):
    """The client id already names a submission of another kind."""


def find_submission(
    session: Session, *, tenant_id: int, person_id: int, client_id: str
) -> ClientSubmission | None:
    """The learner's submission named ``client_id``, if one was recorded."""
    return session.scalars(
        select(ClientSubmission).where(
            ClientSubmission.tenant_id == tenant_id,
            ClientSubmission.person_id == person_id,
            ClientSubmission.client_id == client_id,
        )
    ).first()


def claim_submission(
    session: Session, *, tenant_id: int, person_id: int, client_id: str, kind: str
) -> tuple[ClientSubmission, bool]:
    """Claim ``client_id`` for a new submission, or return the one that holds it.

    Returns:
        The submission row and whether this call created it (False: a repeat, whose
        stored ``response`` is the answer to give again).

    Raises:
        SubmissionKindMismatch: the id names a submission of another kind.
    """
    # One statement for a new id (the usual case): the insert skips a duplicate
    # instead of failing, so it needs no lookup before it and no savepoint around it.
    # A concurrent duplicate waits for the first transaction, then finds its row.
    claimed = session.scalars(
        insert_skipping_duplicates(session, ClientSubmission)
        .values(
            tenant_id=tenant_id,
            person_id=person_id,
            client_id=client_id,
            kind=kind,
            response={},
        )
        .returning(ClientSubmission)
    ).first()
    if claimed is not None:
        return claimed, True
    found = find_submission(
        session, tenant_id=tenant_id, person_id=person_id, client_id=client_id
    )
    if found is None:
        raise LookupError(f"client submission {client_id} was skipped but not found")
    if found.kind != kind:
        raise SubmissionKindMismatch(client_id)
    return found, False


def settle_submission(
    session: Session,
    submission: ClientSubmission,
    *,
    response: dict[str, Any],
    attempt_id: int | None = None,
) -> None:
    """Keep the answer a claimed submission got, for its repeats."""
    submission.response = response
    submission.attempt_id = attempt_id
    session.flush()
