"""Web layer: what the learner and manager landing pages show about the launch they came from."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from adaptive.cohort_people import cohort_people
from adaptive.models import Module, RoleProfile
from lti_tool.infra import revision
from lti_tool.infra.db import utcnow
from lti_tool.infra.models import (
    ROLE_LEARNER,
    Course,
    Deployment,
    Launch,
    Person,
    Registration,
    ResourceLink,
)
from lti_tool.lti.errors import LaunchRejected
from lti_tool.lti.grade_outbox import grade_statuses, grades_offered
from lti_tool.lti.launch_token import LaunchContext
from lti_tool.usecases.next_steps import blocked_paths


@dataclass
class LaunchView:
    """Everything the landing pages show about the launch they came from."""

    person_name: str
    person_email: str | None
    role: str
    course_title: str
    course_label: str
    resource_link_title: str
    module_id: int | None
    module_title: str
    module_description: str
    role_profile: str
    platform_name: str
    has_grade_service: bool
    cohort: list[dict[str, Any]] = field(default_factory=list)
    # Learners whose path the catalogue blocks: person id -> the engine's sentence.
    blocked: dict[int, str] = field(default_factory=dict)


_CATALOGUE_ROWS = revision.RevisionCache(revision.CATALOGUE, size=1024)
CatalogueRow = TypeVar("CatalogueRow", Module, RoleProfile)


def _catalogue_row(
    session: Session, cls: type[CatalogueRow], row_id: int
) -> CatalogueRow | None:
    """Catalogue rows the landing page names, from the per-process revision cache."""
    rows = revision.cached_rows(
        _CATALOGUE_ROWS,
        session,
        (cls.__name__, row_id),
        lambda: [row] if (row := session.get(cls, row_id)) is not None else [],
    )
    return rows[0] if rows else None


def launch_view(
    session: Session, ctx: LaunchContext, *, now: dt.datetime | None = None
) -> LaunchView:
    """The launch's person, course, link, module and (for managers) cohort, in one view.

    For managers it also names the learners whose path the catalogue blocks.
    """
    now = now or utcnow()
    launch = session.get(Launch, ctx.launch_id)
    person = session.get(Person, ctx.person_id)
    if launch is None or person is None or launch.tenant_id != ctx.tenant_id:
        raise LaunchRejected(
            "launch_gone", "This launch is no longer known: open it again.", 401
        )
    course = session.get(Course, launch.course_id) if launch.course_id else None
    link = (
        session.get(ResourceLink, launch.resource_link_pk)
        if launch.resource_link_pk
        else None
    )
    module = (
        _catalogue_row(session, Module, link.module_id)
        if link and link.module_id
        else None
    )
    role_profile = (
        _catalogue_row(session, RoleProfile, module.default_role_id)
        if module and module.default_role_id
        else None
    )
    tenant = session.get(Deployment, ctx.tenant_id)
    registration = session.get(Registration, tenant.registration_id) if tenant else None
    cohort: list[dict[str, Any]] = []
    blocked: dict[int, str] = {}
    has_grades = grades_offered(link)
    if ctx.role != "learner":
        grades = (
            grade_statuses(session, tenant_id=ctx.tenant_id, resource_link_pk=link.id)
            if link is not None and has_grades
            else {}
        )
        cohort = [
            {
                "id": m.person_id,
                "name": m.name,
                "role": m.role,
                "department": m.department,
                "last_seen": m.last_seen,
                "evidence": m.evidence,
                "grade": grades.get(m.person_id),
            }
            for m in cohort_people(
                session,
                tenant_id=ctx.tenant_id,
                course_id=course.id if course is not None else None,
                manager_id=person.id,
            )
        ]
        if module is not None:
            blocked = blocked_paths(
                session,
                tenant_id=ctx.tenant_id,
                module_id=module.id,
                person_ids=[
                    m["id"]
                    for m in cohort
                    if m["role"] == ROLE_LEARNER and m["last_seen"] is not None
                ],
                now=now,
            )
    return LaunchView(
        person_name=person.display_name,
        person_email=person.email,
        role=ctx.role,
        course_title=(course.title or course.label) if course else "",
        course_label=course.label if course else "",
        resource_link_title=link.title if link else "",
        module_id=module.id if module else None,
        module_title=module.title if module else "",
        module_description=module.description if module else "",
        role_profile=role_profile.name if role_profile else "",
        platform_name=(registration.name or registration.issuer)
        if registration
        else "",
        has_grade_service=has_grades,
        cohort=cohort,
        blocked=blocked,
    )
