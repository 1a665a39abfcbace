"""Adaptive services: the people an instructor or manager page lists, with evidence.

A course's roster (NRPS) and a manager's team (the directory's ``manager``) name
people before they launch; their LRS evidence is already stored, so the page lists
them with it instead of waiting for their first launch.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from adaptive.models import Evidence
from lti_tool.infra.models import Enrolment, Person
from lti_tool.infra.tenancy import owned_by_scope

ROSTER_GONE = "Deleted"


@dataclass(frozen=True)
class CohortMember:
    """One listed person: who, how they belong, whether they launched, evidence."""

    person_id: int
    name: str
    role: str
    department: str
    last_seen: dt.datetime | None
    evidence: int


def cohort_people(
    session: Session,
    *,
    tenant_id: int,
    course_id: int | None,
    manager_id: int | None,
) -> list[CohortMember]:
    """The course's members and the manager's direct reports, inside the tenant.

    Members come from launches and the roster (removed ones excluded); reports from
    the directory. ``evidence`` counts non-voided evidence rows.
    """
    roles: dict[int, str] = {}
    people: dict[int, Person] = {}
    if course_id is not None:
        for person, role in session.execute(
            select(Person, Enrolment.role)
            .join(Enrolment, Enrolment.person_id == Person.id)
            .where(
                Enrolment.course_id == course_id,
                Enrolment.status != ROSTER_GONE,
                owned_by_scope(Person.tenant_id, tenant_id),
            )
        ):
            people[person.id] = person
            roles[person.id] = role
    if manager_id is not None:
        for person in session.scalars(
            select(Person).where(
                Person.manager_id == manager_id,
                owned_by_scope(Person.tenant_id, tenant_id),
            )
        ):
            people.setdefault(person.id, person)
            roles.setdefault(person.id, "team")
    counts: dict[int, int] = {}
    ids = sorted(people)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for person_id, n in session.execute(
            select(Evidence.person_id, func.count())
            .where(
                owned_by_scope(Evidence.tenant_id, tenant_id),
                Evidence.person_id.in_(chunk),
                or_(Evidence.voided.is_(False), Evidence.voided.is_(None)),
            )
            .group_by(Evidence.person_id)
        ):
            counts[int(person_id)] = int(n)
    members = [
        CohortMember(
            person_id=p.id,
            name=p.display_name,
            role=roles[p.id],
            department=p.department,
            last_seen=p.last_seen_at,
            evidence=counts.get(p.id, 0),
        )
        for p in people.values()
    ]
    return sorted(members, key=lambda m: (m.name.lower(), m.person_id))
