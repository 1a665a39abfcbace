"""LTI protocol: Names and Roles (NRPS) roster sync into the people directory.

A course's roster names everyone in it before they launch, so their LRS evidence
has someone to attach to and the instructor's page lists the whole class. Members
are read page by page (``Link: rel="next"``) with an access token from the LMS's
token endpoint (client-credentials grant, a JWT signed with the tool's key), kept in
the shared expiring store until shortly before it expires.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pylti1p3.exception import LtiServiceException
from pylti1p3.names_roles import NamesRolesProvisioningService
from pylti1p3.registration import Registration as LtiRegistration
from pylti1p3.service_connector import ServiceConnector
from pylti1p3.utils import add_param_to_url
from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_tool.infra.directory import find_unlaunched, normalise_email
from lti_tool.infra.models import (
    PERSON_SOURCE_ROSTER,
    Course,
    Enrolment,
    Person,
    ResourceLink,
)
from lti_tool.infra.outbound import outbound_session
from lti_tool.infra.store import ExpiringStore
from lti_tool.lti.roles import map_lti_roles

CACHE_KEY_PREFIX = "lti_service_access:"
# Give a cached token up this many seconds before the LMS says it expires.
TOKEN_MARGIN_S = 30
# Members asked per page (the LMS may send fewer); an LMS that pages forever must
# not keep the job forever.
PAGE_SIZE = 100
MAX_PAGES = 1000
STATUSES = ("Active", "Inactive", "Deleted")


class RosterError(RuntimeError):
    """The LMS refused or failed the roster request (message names the reason)."""


class StoredTokenConnector(ServiceConnector):
    """pylti1p3's service connector, with access tokens in the shared expiring store
    and every request through the guarded outbound client."""

    def __init__(self, registration: LtiRegistration, store: ExpiringStore) -> None:
        super().__init__(registration, requests_session=outbound_session())
        self.store = store
        self.token_requests = 0

    def _get_cached_access_token(self, scope_key: str) -> str | None:
        value = self.store.get(CACHE_KEY_PREFIX + scope_key)
        return str(value) if value else None

    def _cache_access_token(
        self, scope_key: str, access_token: str, expires_in: float
    ) -> None:
        self.token_requests += 1
        ttl = int(expires_in or 0) - TOKEN_MARGIN_S
        if ttl > 0:
            self.store.put(CACHE_KEY_PREFIX + scope_key, access_token, ttl)


def roster_pages(
    connector: ServiceConnector, endpoint: dict[str, Any], *, page_size: int = PAGE_SIZE
) -> Iterator[list[dict[str, Any]]]:
    """The roster's members, one page at a time, following ``rel="next"``."""
    service = NamesRolesProvisioningService(connector, endpoint)  # type: ignore[arg-type]
    first = str(endpoint["context_memberships_url"])
    if "limit=" not in first:
        first = add_param_to_url(first, "limit", page_size)
    url: str | None = first
    pages = 0
    while url and pages < MAX_PAGES:
        try:
            members, url = service.get_members_page(url)
        except LtiServiceException as exc:
            status = getattr(exc.response, "status_code", "?")
            raise RosterError(
                f"the LMS answered {status} to the roster request"
            ) from None
        pages += 1
        yield [dict(m) for m in members]


@dataclass
class RosterReport:
    """What one roster sync did."""

    members: int = 0
    created: int = 0
    linked: int = 0
    updated: int = 0
    pages: int = 0
    person_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {
            "members": self.members,
            "created": self.created,
            "linked": self.linked,
            "updated": self.updated,
            "pages": self.pages,
        }


def sync_roster(
    session: Session,
    *,
    resource_link: ResourceLink,
    connector: ServiceConnector,
    page_size: int = PAGE_SIZE,
) -> RosterReport:
    """Fill the directory with a link's course roster: people, roles, status.

    A member is found by LMS account (``user_id`` = our ``sub``), else linked to a
    directory entry without one by email or ``lis_person_sourcedid``, else created.
    Flushes, never commits.
    """
    endpoint = resource_link.nrps_endpoint
    if not endpoint or not endpoint.get("context_memberships_url"):
        raise RosterError("this link's launch carried no Names and Roles endpoint")
    if resource_link.course_id is None:
        raise RosterError("this link belongs to no course")
    course = session.get(Course, resource_link.course_id)
    if course is None:
        raise RosterError("this link belongs to no course")
    tenant_id = resource_link.tenant_id
    report = RosterReport()
    for members in roster_pages(connector, endpoint, page_size=page_size):
        report.pages += 1
        _upsert_page(session, tenant_id, course, members, report)
        session.flush()
    return report


def _upsert_page(
    session: Session,
    tenant_id: int,
    course: Course,
    members: list[dict[str, Any]],
    report: RosterReport,
) -> None:
    subs = [str(m["user_id"]) for m in members if m.get("user_id")]
    known = {
        p.sub: p
        for p in session.scalars(
            select(Person).where(Person.tenant_id == tenant_id, Person.sub.in_(subs))
        )
    }
    enrolled = {
        e.person_id: e
        for e in session.scalars(
            select(Enrolment).where(
                Enrolment.course_id == course.id,
                Enrolment.person_id.in_([p.id for p in known.values()]),
            )
        )
    }
    for member in members:
        sub = str(member.get("user_id") or "")
        if not sub or len(sub) > 255:
            continue
        report.members += 1
        person = known.get(sub)
        email = member.get("email") if isinstance(member.get("email"), str) else None
        if person is None:
            person = find_unlaunched(
                session,
                tenant_id,
                email=email,
                external_id=str(member.get("lis_person_sourcedid") or "") or None,
            )
            if person is not None:
                person.sub = sub
                report.linked += 1
            else:
                person = Person(
                    tenant_id=tenant_id,
                    sub=sub,
                    source=PERSON_SOURCE_ROSTER,
                    last_seen_at=None,
                )
                session.add(person)
                report.created += 1
            session.flush()
            known[sub] = person
        if _fill(person, member, email):
            report.updated += 1
        role = map_lti_roles([r for r in member.get("roles", []) if isinstance(r, str)])
        status = str(member.get("status") or "Active")
        status = status if status in STATUSES else "Active"
        enrolment = enrolled.get(person.id)
        if enrolment is None:
            enrolment = session.scalars(
                select(Enrolment).where(
                    Enrolment.person_id == person.id, Enrolment.course_id == course.id
                )
            ).first()
        if enrolment is None:
            session.add(
                Enrolment(
                    person_id=person.id, course_id=course.id, role=role, status=status
                )
            )
        else:
            if enrolment.role != role:
                enrolment.role = role
            if enrolment.status != status:
                enrolment.status = status
        report.person_ids.append(person.id)


def _fill(person: Person, member: dict[str, Any], email: str | None) -> bool:
    """Take the roster's names and email where given (cut to fit); True if changed."""
    changed = False
    for attribute in ("name", "given_name", "family_name"):
        value = member.get(attribute)
        if isinstance(value, str) and value:
            length = getattr(Person.__table__.c[attribute].type, "length", None)
            value = value[:length] if length else value
            if getattr(person, attribute) != value:
                setattr(person, attribute, value)
                changed = True
    normal = normalise_email(email) if email else None
    if normal is not None and len(normal) <= 320 and person.email != normal:
        person.email = normal
        changed = True
    return changed
