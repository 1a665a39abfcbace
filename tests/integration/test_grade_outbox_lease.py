"""A new score while an older one is being sent waits for that send (no two senders).

Before: a score queued while its row was leased moved the row's due time to now, so
the next delivery run claimed it again and posted the older and the newer score to
the LMS at once.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from lti_tool.infra.models import ResourceLink
from lti_tool.lti.ags_client import AgsUnavailable, LineItemRef
from lti_tool.lti.grade_delivery import (
    CLAIM_LEASE_S,
    GradeDeliveryReport,
    SendOutcome,
    claim_due_grades,
    record_grade_outcome,
)
from lti_tool.lti.grade_outbox import enqueue_grade
from tests.factories import make_person, make_tenant

NOW = dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC)
AGS = {
    "scope": ["https://purl.imsglobal.org/spec/lti-ags/scope/score"],
    "lineitem": "https://lms.example/lineitems/1",
}


def _link(session: Session, tenant_id: int) -> ResourceLink:
    link = ResourceLink(tenant_id=tenant_id, resource_link_id="rl-1", ags_endpoint=AGS)
    session.add(link)
    session.flush()
    return link


def test_a_score_queued_during_a_send_waits_for_it_then_goes(
    db_session: Session,
) -> None:
    tenant = make_tenant(db_session)
    person = make_person(db_session, tenant)
    link = _link(db_session, tenant.id)
    first = enqueue_grade(
        db_session,
        person=person,
        resource_link=link,
        progress=0.2,
        completed=False,
        comment="",
        now=NOW,
    )
    assert first is not None
    [claim] = claim_due_grades(db_session, now=NOW)

    later = NOW + dt.timedelta(seconds=2)
    enqueue_grade(
        db_session,
        person=person,
        resource_link=link,
        progress=0.4,
        completed=False,
        comment="",
        now=later,
    )
    # The row is still leased to the first sender: nobody else claims it.
    assert claim_due_grades(db_session, now=later) == []

    record_grade_outcome(
        db_session,
        claim,
        SendOutcome(lineitem=LineItemRef(AGS["lineitem"], 1.0)),
        now=later,
        report=GradeDeliveryReport(),
    )
    # The first send is done: the newer score is due at once, and only it.
    [second] = claim_due_grades(db_session, now=later)
    assert second.version == claim.version + 1
    assert second.progress == 0.4


def test_a_score_queued_during_an_outage_waits_for_the_backoff(
    db_session: Session,
) -> None:
    tenant = make_tenant(db_session)
    person = make_person(db_session, tenant)
    link = _link(db_session, tenant.id)
    enqueue_grade(
        db_session,
        person=person,
        resource_link=link,
        progress=0.2,
        completed=False,
        comment="",
        now=NOW,
    )
    [claim] = claim_due_grades(db_session, now=NOW)
    record_grade_outcome(
        db_session,
        claim,
        SendOutcome(lineitem=None, error=AgsUnavailable("lms answered 503", 503)),
        now=NOW,
        report=GradeDeliveryReport(),
    )
    later = NOW + dt.timedelta(seconds=1)
    enqueue_grade(
        db_session,
        person=person,
        resource_link=link,
        progress=0.4,
        completed=False,
        comment="",
        now=later,
    )
    assert claim_due_grades(db_session, now=later) == []
    # Not lost: due once the backoff (or at worst a lease) is over.
    assert claim_due_grades(
        db_session, now=NOW + dt.timedelta(seconds=CLAIM_LEASE_S + 3600)
    )
