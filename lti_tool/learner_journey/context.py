"""Use cases of the learner API: the launch's module, the IRIs and the next step.

Every call acts for the launch's own person, tenant and resource link (its module);
nothing in this package takes another person's id, so no request can name someone
else's data.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sqlalchemy import BindParameter, Integer, and_, bindparam, select
from sqlalchemy.orm import Session

from adaptive.core.catalogue import ActivityInfo
from adaptive.core.decisions import Recommendation
from adaptive.models import Module
from adaptive.module_snapshots import ModuleSnapshot, load_module
from adaptive.next_step import next_step
from lti_tool.infra.models import (
    Course,
    Deployment,
    Launch,
    Person,
    Registration,
    ResourceLink,
)
from lti_tool.lti.errors import LaunchRejected
from lti_tool.lti.launch_token import LaunchContext
from lti_tool.usecases.next_steps import json_safe
from xapi.core.profile import EXT_REASON
from xapi.core.statements import ActivityRef
from xapi.outbox import emit_statement


@dataclass(frozen=True)
class Where:
    """The launch's module and the names its statements carry."""

    module: Module
    snapshot: ModuleSnapshot
    person: Person
    course: ActivityRef | None
    registration: str
    #: The launch's resource link, held so the grade's read of it needs no query.
    link: ResourceLink


def where_of(session: Session, ctx: LaunchContext) -> Where:
    launch = session.get(Launch, ctx.launch_id)
    found = _launch_rows(session, ctx, launch) if launch is not None else None
    link = found.link if found is not None else None
    if link is not None and link.tenant_id != ctx.tenant_id:
        link = None
    if launch is None or found is None or link is None or link.module_id is None:
        raise LaunchRejected(
            "no_module", "This link in the LMS does not open a Pathwise module.", 409
        )
    module = found.module
    if module is None:
        raise LaunchRejected("no_module", "This link's module is gone.", 409)
    snapshot = load_module(session, tenant_id=ctx.tenant_id, module_id=module.id)
    return Where(
        module=module,
        snapshot=snapshot,
        person=found.person,
        course=found.course,
        # One registration per (learner, link's module attempt): the statements of
        # this journey group under it, and an xAPI activity launched from it too.
        registration=str(
            uuid.uuid5(
                uuid.NAMESPACE_URL,
                f"pathwise:registration:{ctx.tenant_id}:{ctx.person_id}:{link.id}:{module.id}",
            )
        ),
        link=link,
    )


@dataclass(frozen=True)
class _LaunchRows:
    person: Person
    link: ResourceLink | None
    module: Module | None
    course: ActivityRef | None


_LINK_PK: BindParameter[int | None] = bindparam("link_pk", type_=Integer)
_COURSE_ID: BindParameter[int | None] = bindparam("course_id", type_=Integer)
_TENANT_ID: BindParameter[int] = bindparam("tenant_id", type_=Integer)
_PERSON_ID: BindParameter[int] = bindparam("person_id", type_=Integer)
# Built once, as every answer runs it: not rebuilt nor re-keyed each time.
_LAUNCH_ROWS = (
    select(
        Person,
        ResourceLink,
        Module,
        Course.context_id,
        Course.title,
        Course.label,
        Registration.issuer,
    )
    .select_from(Person)
    .outerjoin(ResourceLink, ResourceLink.id == _LINK_PK)
    .outerjoin(Module, Module.id == ResourceLink.module_id)
    .outerjoin(Course, Course.id == _COURSE_ID)
    # The course's platform: the launch's deployment's registration.
    .outerjoin(Deployment, and_(Course.id.is_not(None), Deployment.id == _TENANT_ID))
    .outerjoin(Registration, Registration.id == Deployment.registration_id)
    .where(Person.id == _PERSON_ID)
)


def _launch_rows(
    session: Session, ctx: LaunchContext, launch: Launch
) -> _LaunchRows | None:
    """The launch's person, resource link, its module and its course's activity.

    One query, not four: every answer reads them. Each join is on a primary key, so
    there is at most one row (none when the person is gone); a missing link, module
    or course leaves its columns NULL.
    """
    row = session.execute(
        _LAUNCH_ROWS,
        {
            "link_pk": launch.resource_link_pk,
            "course_id": launch.course_id,
            "tenant_id": launch.tenant_id,
            "person_id": ctx.person_id,
        },
    ).one_or_none()
    if row is None:
        return None
    person, link, module, context_id, title, label, issuer = row
    # The LTI course as an xAPI activity: the platform's issuer and its context id
    # (none without a course, or when its deployment or registration is gone).
    course = (
        ActivityRef(
            f"{issuer.rstrip('/')}/lti/contexts/{quote(context_id, safe='')}",
            "course",
            name=title or label,
        )
        if context_id is not None and issuer is not None
        else None
    )
    return _LaunchRows(person=person, link=link, module=module, course=course)


def activity_info(where: Where, key: str) -> ActivityInfo:
    """The activity ``key`` of the launch's module; 404 ``no_activity`` if it has none."""
    for info in where.snapshot.catalog.activities.values():
        if info.key == key:
            return info
    raise LaunchRejected("no_activity", "This module has no such activity.", 404)


def iri(base_url: str, where: Where, *parts: str) -> str:
    return "/".join(
        [f"{base_url}/catalogue/{quote(where.snapshot.framework_key, safe='')}", *parts]
    )


def module_ref(base_url: str, where: Where) -> ActivityRef:
    return ActivityRef(
        iri(base_url, where, "modules", quote(where.snapshot.module_key, safe="")),
        "module",
        name=where.snapshot.title,
    )


def decided_step(
    session: Session,
    ctx: LaunchContext,
    where: Where,
    now: dt.datetime,
    time_budget_min: float | None,
    *,
    recommended_from: str | None = None,
    decided: Recommendation | None = None,
) -> dict[str, Any]:
    """The engine's next step, fitted to the learner's time budget when one is set.

    With ``recommended_from`` (the tool's base URL), a POST tells the LRS it was
    recommended: one statement per learner, module, activity and day, as at launch.
    ``decided`` is that step when the caller has just asked the engine for it
    (after an answer), so it is not decided twice.
    """
    rec = decided or next_step(
        session,
        tenant_id=ctx.tenant_id,
        person_id=ctx.person_id,
        module_id=where.module.id,
        now=now,
        time_budget_min=time_budget_min,
    )
    info = (
        where.snapshot.catalog.activities.get(rec.activity_id)
        if rec.activity_id is not None
        else None
    )
    if recommended_from is not None and info is not None:
        emit_statement(
            session,
            person=where.person,
            key=f"recommended:{where.person.id}:{where.module.id}:{info.id}:{now.date().isoformat()}",
            verb="recommended",
            object=ActivityRef(
                iri(recommended_from, where, "activities", quote(info.key, safe="")),
                "activity",
                name=info.title,
            ),
            timestamp=now,
            registration=where.registration,
            course=where.course,
            parent=module_ref(recommended_from, where),
            context_extensions={
                EXT_REASON: {
                    "code": rec.reason.code,
                    "numbers": json_safe(rec.reason.numbers),
                }
            },
        )
    return {
        "kind": rec.kind,
        "activity_key": info.key if info else None,
        "title": info.title if info else "",
        "minutes": rec.minutes,
        "reason_code": rec.reason.code,
        "reason": rec.reason.learner_text,
    }


def repeated_answer(response: dict[str, Any]) -> dict[str, Any]:
    """The first answer to a submission, for its repeat."""
    if not response:
        # Only seen without transaction isolation: the first is still being handled.
        raise LaunchRejected(
            "submission_in_progress", "This submission is still being recorded.", 409
        )
    return dict(response)
