"""Integration: client submission ids through ``adaptive.submissions`` (real DB)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adaptive.submission_models import (
    SUBMISSION_ATTEMPT,
    SUBMISSION_PLACEMENT_ANSWER,
    ClientSubmission,
)
from adaptive.submissions import (
    SubmissionKindMismatch,
    claim_submission,
    settle_submission,
)
from tests.factories import make_person, make_tenant

CLIENT_ID = "5b1f0f4e-2d7c-4c1e-9a57-6c1d2a9e0b11"


def test_a_repeat_finds_the_first_claim_and_its_answer(db_session: Session) -> None:
    tenant = make_tenant(db_session)
    person = make_person(db_session, tenant)
    first, fresh = claim_submission(
        db_session,
        tenant_id=tenant.id,
        person_id=person.id,
        client_id=CLIENT_ID,
        kind=SUBMISSION_ATTEMPT,
    )
    assert fresh
    settle_submission(db_session, first, response={"attempt_id": 7})
    again, fresh_again = claim_submission(
        db_session,
        tenant_id=tenant.id,
        person_id=person.id,
        client_id=CLIENT_ID,
        kind=SUBMISSION_ATTEMPT,
    )
    assert (again.id, fresh_again, again.response) == (
        first.id,
        False,
        {"attempt_id": 7},
    )
    with pytest.raises(SubmissionKindMismatch):
        claim_submission(
            db_session,
            tenant_id=tenant.id,
            person_id=person.id,
            client_id=CLIENT_ID,
            kind=SUBMISSION_PLACEMENT_ANSWER,
        )


def test_the_same_id_is_another_learners_own(db_session: Session) -> None:
    tenant, other_tenant = make_tenant(db_session), make_tenant(db_session)
    people = [
        make_person(db_session, tenant),
        make_person(db_session, tenant),
        make_person(db_session, other_tenant),
    ]
    for person in people:
        _, fresh = claim_submission(
            db_session,
            tenant_id=person.tenant_id,
            person_id=person.id,
            client_id=CLIENT_ID,
            kind=SUBMISSION_ATTEMPT,
        )
        assert fresh
    count = db_session.scalar(select(func.count()).select_from(ClientSubmission))
    assert count == 3
