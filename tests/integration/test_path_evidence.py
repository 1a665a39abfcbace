"""Integration: what a learner's evidence says per skill (``adaptive.path_evidence``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from adaptive.models import Attempt, Evidence
from adaptive.path_evidence import attempted_activities, skill_evidence
from tests.factories import make_catalogue, make_person, make_tenant

NOW = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)


def _evidence(session: Session, person: Any, skill: Any, **fields: Any) -> None:
    values: dict[str, Any] = {
        "tenant_id": person.tenant_id,
        "person_id": person.id,
        "skill_id": skill.id,
        "outcome": 1.0,
        "source": "pathwise",
        **fields,
    }
    session.add(Evidence(**values))
    session.flush()


def test_sources_newest_first_and_wrong_answers_in_a_row(db_session: Session) -> None:
    tenant = make_tenant(db_session, "acme")
    cat = make_catalogue(db_session, None)
    a, b = cat["a"], cat["b"]
    ada = make_person(db_session, tenant, "ada")
    lesson = cat["acts"]["lesson-a"].id
    quiz = cat["acts"]["quiz-a"].id
    _evidence(db_session, ada, a, rule_key="placement", occurred_at=NOW)
    _evidence(
        db_session,
        ada,
        a,
        outcome=1.0,
        activity_id=lesson,
        occurred_at=NOW + dt.timedelta(days=1),
    )
    _evidence(
        db_session,
        ada,
        a,
        outcome=0.0,
        activity_id=quiz,
        occurred_at=NOW + dt.timedelta(days=2),
    )
    _evidence(
        db_session,
        ada,
        a,
        outcome=0.25,
        activity_id=quiz,
        occurred_at=NOW + dt.timedelta(days=3),
    )
    # A voided statement says nothing; work evidence from the LRS is its own source.
    _evidence(
        db_session,
        ada,
        a,
        outcome=1.0,
        voided=True,
        occurred_at=NOW + dt.timedelta(days=9),
    )
    _evidence(db_session, ada, b, source="xapi", statement_id="s-1", occurred_at=NOW)
    # Another learner's evidence never counts.
    bob = make_person(db_session, tenant, "bob")
    _evidence(db_session, bob, b, rule_key="placement", occurred_at=NOW)

    found = skill_evidence(
        db_session, tenant_id=tenant.id, person_id=ada.id, skill_ids=[a.id, b.id]
    )

    on_a, on_b = found[a.id], found[b.id]
    assert on_a.placed and on_a.sources == {"placement", "attempts"}
    assert on_a.last_at is not None and on_a.last_at.replace(
        tzinfo=dt.UTC
    ) == NOW + dt.timedelta(days=3)
    assert on_a.attempt_outcomes == [0.25, 0.0, 1.0]
    assert on_a.wrong_in_a_row == 2
    assert on_a.main_source == "attempts"
    assert (on_b.placed, on_b.sources, on_b.main_source) == (False, {"xapi"}, "xapi")
    assert (
        skill_evidence(db_session, tenant_id=tenant.id, person_id=ada.id, skill_ids=[])
        == {}
    )


def test_attempted_activities_include_teaching_without_evidence(
    db_session: Session,
) -> None:
    tenant = make_tenant(db_session, "acme")
    cat = make_catalogue(db_session, None)
    ada = make_person(db_session, tenant, "ada")
    bob = make_person(db_session, tenant, "bob")
    lesson = cat["acts"]["lesson-a"]
    for person in (ada, ada, bob):
        db_session.add(
            Attempt(
                tenant_id=tenant.id,
                person_id=person.id,
                activity_id=lesson.id,
                module_id=cat["module"].id,
                started_at=NOW,
            )
        )
    db_session.add(
        Attempt(
            tenant_id=tenant.id,
            person_id=bob.id,
            activity_id=cat["acts"]["quiz-a"].id,
            started_at=NOW,
        )
    )
    db_session.flush()
    assert attempted_activities(db_session, tenant_id=tenant.id, person_id=ada.id) == {
        lesson.id
    }
