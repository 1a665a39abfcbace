"""LTI protocol: a validated launch stored inside its tenant (person, course, link, launch row).

A whole class launches the same link at the start of a lesson, so a returning
learner's rows come back in one outer-join query and known rows are written only
when a value really changed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, String, and_, bindparam, inspect, literal, select
from sqlalchemy.orm import Session

from adaptive.models import Framework, Module
from lti_tool.infra.db import utcnow
from lti_tool.infra.directory import find_unlaunched
from lti_tool.infra.models import (
    Course,
    Deployment,
    Enrolment,
    Launch,
    Person,
    Registration,
    ResourceLink,
)
from lti_tool.infra.tenancy import visible_to_tenant
from lti_tool.lti.claims import (
    CLAIM_AGS,
    CLAIM_CONTEXT,
    CLAIM_CUSTOM,
    CLAIM_LIS,
    CLAIM_MESSAGE_TYPE,
    CLAIM_NRPS,
    CLAIM_RESOURCE_LINK,
    CLAIM_ROLES,
)
from lti_tool.lti.roles import map_lti_roles

LAST_SEEN_RESOLUTION = dt.timedelta(minutes=1)


@dataclass
class LaunchOutcome:
    """A recorded launch with the rows it resolved, for the response and deep linking."""

    launch: Launch
    person: Person
    tenant: Deployment
    registration: Registration
    course: Course | None
    resource_link: ResourceLink | None
    role: str
    message_type: str
    claims: dict[str, Any] = field(default_factory=dict)


_ONE_ROW = select(literal(1).label("one")).subquery("one_row")
# Outer joins from a single row: every entity comes back, None where it is new.
_KNOWN_LAUNCH_ROWS = (
    select(Person, Course, Enrolment, ResourceLink)
    .select_from(_ONE_ROW)
    .outerjoin(
        Person,
        and_(
            Person.tenant_id == bindparam("tenant_id", type_=Integer),
            Person.sub == bindparam("sub", type_=String),
        ),
    )
    .outerjoin(
        Course,
        and_(
            Course.tenant_id == bindparam("tenant_id", type_=Integer),
            Course.context_id == bindparam("context_id", type_=String),
        ),
    )
    .outerjoin(
        Enrolment,
        and_(Enrolment.person_id == Person.id, Enrolment.course_id == Course.id),
    )
    .outerjoin(
        ResourceLink,
        and_(
            ResourceLink.tenant_id == bindparam("tenant_id", type_=Integer),
            ResourceLink.resource_link_id
            == bindparam("resource_link_id", type_=String),
        ),
    )
)


def record_launch(
    session: Session,
    *,
    registration: Registration,
    tenant: Deployment,
    claims: dict[str, Any],
) -> LaunchOutcome:
    """Resolve person, course, resource link inside the tenant and store the launch."""
    now = utcnow()
    sub = str(claims["sub"])
    context = claims.get(CLAIM_CONTEXT)
    context_id = (
        str(context["id"]) if isinstance(context, dict) and context.get("id") else None
    )
    link_claim = claims.get(CLAIM_RESOURCE_LINK)
    link_id = (
        str(link_claim["id"])
        if isinstance(link_claim, dict) and link_claim.get("id")
        else None
    )
    # A returning learner's rows in one round trip (each may be missing).
    known = session.execute(
        _KNOWN_LAUNCH_ROWS,
        {
            "tenant_id": tenant.id,
            "sub": sub,
            "context_id": context_id,
            "resource_link_id": link_id,
        },
    ).one()
    person: Person | None = known[0]
    course: Course | None = known[1]
    enrolment: Enrolment | None = known[2]
    resource_link: ResourceLink | None = known[3]
    if person is None:
        # A first launch: the directory may already know them (HR import, roster).
        person = _directory_entry(session, tenant.id, claims)
        if person is None:
            person = Person(tenant_id=tenant.id, sub=sub)
            session.add(person)
        else:
            person.sub = sub
            # The outer join could not see this entry's enrolment (it had no sub).
            if course is not None:
                enrolment = session.scalars(
                    select(Enrolment).where(
                        Enrolment.person_id == person.id,
                        Enrolment.course_id == course.id,
                    )
                ).first()
    # Names and email are optional claims (privacy settings): keep what we knew.
    for attr, claim in (
        ("name", "name"),
        ("given_name", "given_name"),
        ("family_name", "family_name"),
        ("email", "email"),
    ):
        value = claims.get(claim)
        if isinstance(value, str) and value:
            setattr(person, attr, _fit(Person, attr, value))
    # Every launch has its own row; last_seen_at only answers "active lately?", so a
    # relaunch within a minute (a reload, back to the course and in again) skips the write.
    if person.last_seen_at is None or now - person.last_seen_at >= LAST_SEEN_RESOLUTION:
        person.last_seen_at = now
    if _is_new(person):
        session.flush()  # new rows need their ids below; known rows flush once, at the end

    if isinstance(context, dict) and context_id is not None:  # context_id implies dict
        if course is None:
            course = Course(tenant_id=tenant.id, context_id=context_id)
            session.add(course)
        _set_if_changed(
            course,
            "label",
            _fit(Course, "label", str(context.get("label") or course.label or "")),
        )
        _set_if_changed(
            course,
            "title",
            _fit(Course, "title", str(context.get("title") or course.title or "")),
        )
        if _is_new(course):
            session.flush()

    lti_roles = [r for r in claims.get(CLAIM_ROLES, []) if isinstance(r, str)]
    role = map_lti_roles(lti_roles)
    if course is not None:
        if enrolment is None:
            session.add(Enrolment(person_id=person.id, course_id=course.id, role=role))
        else:
            _set_if_changed(enrolment, "role", role)
            _set_if_changed(enrolment, "status", "Active")

    message_type = str(claims[CLAIM_MESSAGE_TYPE])
    custom = (
        claims.get(CLAIM_CUSTOM) if isinstance(claims.get(CLAIM_CUSTOM), dict) else {}
    )
    if isinstance(link_claim, dict) and link_id is not None:  # link_id implies dict
        if resource_link is None:
            resource_link = ResourceLink(tenant_id=tenant.id, resource_link_id=link_id)
            session.add(resource_link)
        # A whole class launches the same link: write it only when something changed,
        # or every launch would queue on this one row's lock.
        if course is not None:
            _set_if_changed(resource_link, "course_id", course.id)
        _set_if_changed(
            resource_link,
            "title",
            _fit(
                ResourceLink,
                "title",
                str(link_claim.get("title") or resource_link.title or ""),
            ),
        )
        if isinstance(claims.get(CLAIM_AGS), dict):
            _set_if_changed(resource_link, "ags_endpoint", claims[CLAIM_AGS])
        if isinstance(claims.get(CLAIM_NRPS), dict):
            _set_if_changed(resource_link, "nrps_endpoint", claims[CLAIM_NRPS])
        module_ref = (custom or {}).get("pathwise_module")
        if resource_link.module_id is None and module_ref:
            resource_link.module_id = _resolve_module_id(
                session, tenant.id, str(module_ref)
            )
        if _is_new(resource_link):
            session.flush()

    launch = Launch(
        tenant_id=tenant.id,
        person_id=person.id,
        course_id=course.id if course else None,
        resource_link_pk=resource_link.id if resource_link else None,
        role=role,
        lti_roles=lti_roles,
        message_type=message_type,
        custom=dict(custom or {}),
    )
    session.add(launch)
    session.flush()
    return LaunchOutcome(
        launch=launch,
        person=person,
        tenant=tenant,
        registration=registration,
        course=course,
        resource_link=resource_link,
        role=role,
        message_type=message_type,
        claims=claims,
    )


def _directory_entry(
    session: Session, tenant_id: int, claims: dict[str, Any]
) -> Person | None:
    """The directory entry (no LMS account yet) a first launch belongs to, if any:
    by the launch's email, else by the LIS person_sourcedid as external id."""
    email = claims.get("email")
    lis = claims.get(CLAIM_LIS)
    sourcedid = lis.get("person_sourcedid") if isinstance(lis, dict) else None
    return find_unlaunched(
        session,
        tenant_id,
        email=email if isinstance(email, str) else None,
        external_id=str(sourcedid) if sourcedid else None,
    )


def _fit(model: type[Any], attribute: str, value: str) -> str:
    """A display text cut to its column: an overlong name must not fail the insert.

    Only shown text is cut; identifiers and stored claims are bounded (refused when
    too long) by ``lti_tool.lti.token_limits`` before the launch gets here.
    """
    length = getattr(model.__table__.c[attribute].type, "length", None)
    return value[:length] if length else value


def _is_new(row: Any) -> bool:
    """Added in this session and not flushed yet: it has no id to refer to."""
    return bool(inspect(row).pending)


def _set_if_changed(row: Any, attribute: str, value: Any) -> None:
    if getattr(row, attribute) != value:
        setattr(row, attribute, value)


def _resolve_module_id(session: Session, tenant_id: int, ref: str) -> int | None:
    """A module named by id or key in the tenant's catalogue or the shared one."""
    query = (
        select(Module.id)
        .join(Framework, Framework.id == Module.framework_id)
        .where(visible_to_tenant(Framework.tenant_id, tenant_id))
    )
    if ref.isdigit():
        return session.scalar(query.where(Module.id == int(ref)))
    return session.scalar(query.where(Module.key == ref))
