"""What the learner and manager landing pages show about the launch they came from."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive.models import Module, RoleProfile
from adaptive.module_snapshots import load_module
from adaptive.next_step import next_step
from lti_tool.infra import revision
from lti_tool.infra.models import (
    Course,
    Deployment,
    Enrolment,
    Launch,
    Person,
    Registration,
    ResourceLink,
)
from lti_tool.lti.launch import LaunchContext, LaunchRejected
from xapi.core.profile import EXT_REASON
from xapi.core.statements import ActivityRef
from xapi.service import emit_statement


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


def launch_view(session: Session, ctx: LaunchContext) -> LaunchView:
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
    if ctx.role != "learner" and course is not None:
        rows = session.execute(
            select(Person, Enrolment.role)
            .join(Enrolment, Enrolment.person_id == Person.id)
            .where(Enrolment.course_id == course.id, Person.tenant_id == ctx.tenant_id)
            .order_by(Person.name)
        ).all()
        cohort = [
            {
                "id": p.id,
                "name": p.display_name,
                "role": role,
                "last_seen": p.last_seen_at,
            }
            for p, role in rows
        ]
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
        has_grade_service=bool(link and link.ags_endpoint),
        cohort=cohort,
    )


@dataclass(frozen=True)
class NextStepPreview:
    """The engine's next recommendation, as the learner page shows it."""

    kind: str
    title: str
    minutes: float
    reason_code: str
    learner_text: str


def next_step_preview(
    session: Session,
    ctx: LaunchContext,
    view: LaunchView,
    *,
    now: dt.datetime,
    base_url: str,
) -> NextStepPreview | None:
    """Ask the engine what this learner should do next, and tell the LRS we did.

    The *recommended* statement goes to the outbox in this request's transaction;
    its key (learner, module, activity, day) makes repeated page views one statement.
    """
    if view.module_id is None:
        return None
    recommendation = next_step(
        session,
        tenant_id=ctx.tenant_id,
        person_id=ctx.person_id,
        module_id=view.module_id,
        now=now,
    )
    # Titles and keys come from the cached module snapshot, not from fresh queries.
    snapshot = load_module(session, tenant_id=ctx.tenant_id, module_id=view.module_id)
    activity = (
        snapshot.catalog.activities.get(recommendation.activity_id)
        if recommendation.activity_id is not None
        else None
    )
    person = session.get(Person, ctx.person_id)
    if activity is not None and person is not None:
        catalogue = f"{base_url}/catalogue/{snapshot.framework_key}"
        emit_statement(
            session,
            person=person,
            key=f"recommended:{person.id}:{snapshot.module_id}:{activity.id}:{now.date().isoformat()}",
            verb="recommended",
            object=ActivityRef(
                f"{catalogue}/activities/{activity.key}",
                "activity",
                name=activity.title,
            ),
            timestamp=now,
            parent=ActivityRef(
                f"{catalogue}/modules/{snapshot.module_key}",
                "module",
                name=snapshot.title,
            ),
            context_extensions={
                EXT_REASON: {
                    "code": recommendation.reason.code,
                    "numbers": _json_safe(recommendation.reason.numbers),
                }
            },
        )
    return NextStepPreview(
        kind=recommendation.kind,
        title=activity.title if activity else "",
        minutes=recommendation.minutes,
        reason_code=recommendation.reason.code,
        learner_text=recommendation.reason.learner_text,
    )


def _json_safe(value: Any) -> Any:
    """Reason numbers may hold numpy scalars or tuples; xAPI extensions need JSON."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item"):
        return value.item()
    return value
