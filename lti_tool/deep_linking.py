"""Deep Linking and launch views: what an instructor can place, and what a launch shows."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from pylti1p3.deep_link import DeepLink
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.lineitem import LineItem
from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive.models import Framework, Module, RoleProfile
from lti_tool.models import (
    Course,
    Deployment,
    Enrolment,
    Launch,
    Person,
    Registration,
    ResourceLink,
)
from lti_tool.service import (
    CLAIM_AGS,
    CLAIM_DEEP_LINKING,
    LaunchContext,
    LaunchOutcome,
    LaunchRejected,
)
from lti_tool.store import ExpiringStore
from lti_tool.tool_conf import to_lti_registration


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
    module = session.get(Module, link.module_id) if link and link.module_id else None
    role_profile = (
        session.get(RoleProfile, module.default_role_id)
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


def catalogue_modules(session: Session, tenant_id: int) -> list[Module]:
    """Modules an instructor in this tenant may place: their own and the shared catalogue."""
    return list(
        session.scalars(
            select(Module)
            .join(Framework, Framework.id == Module.framework_id)
            .where((Framework.tenant_id == tenant_id) | Framework.tenant_id.is_(None))
            .order_by(Module.title)
        )
    )


def remember_request(
    store: ExpiringStore, outcome: LaunchOutcome, *, ttl_s: int
) -> None:
    """Keep the deep-linking settings until the instructor has picked a module."""
    store.put(
        f"deeplink:{outcome.launch.id}",
        {
            "registration_id": outcome.registration.id,
            "deployment_id": outcome.tenant.deployment_id,
            "settings": outcome.claims.get(CLAIM_DEEP_LINKING) or {},
            "ags": outcome.claims.get(CLAIM_AGS),
        },
        ttl_s,
    )


def build_response_form(
    session: Session,
    store: ExpiringStore,
    ctx: LaunchContext,
    *,
    module_ids: list[int],
    launch_url: str,
) -> str:
    """Sign an LtiDeepLinkingResponse with ltiResourceLinks and return its auto-post form."""
    request = store.pop(f"deeplink:{ctx.launch_id}")
    if request is None:
        raise LaunchRejected(
            "deep_link_expired",
            "This content selection has expired: start it again.",
            400,
        )
    registration = session.get(Registration, request["registration_id"])
    if registration is None:
        raise LaunchRejected(
            "unknown_client", "The platform registration is gone.", 403
        )
    allowed = {m.id: m for m in catalogue_modules(session, ctx.tenant_id)}
    chosen = [allowed[i] for i in module_ids if i in allowed]
    if not chosen:
        store.put(f"deeplink:{ctx.launch_id}", request, 600)
        raise LaunchRejected("no_module", "Choose at least one module.", 400)
    settings: dict[str, Any] = request["settings"]
    if settings.get("accept_multiple", True) not in (True, "true"):
        chosen = chosen[:1]
    ags = request.get("ags") or {}
    can_create_lineitems = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem" in (
        ags.get("scope") or []
    )
    resources = []
    for module in chosen:
        resource = (
            DeepLinkResource()
            .set_url(launch_url)
            .set_title(module.title)
            .set_custom_params({"pathwise_module": module.key})
        )
        if ags or can_create_lineitems:
            resource.set_lineitem(
                LineItem()
                .set_label(module.title)
                .set_score_maximum(100)
                .set_resource_id(f"pathwise-module-{module.id}")
                .set_tag("pathwise")
            )
        resources.append(resource)
    deep_link = DeepLink(
        to_lti_registration(session, registration),
        request["deployment_id"],
        settings,  # type: ignore[arg-type]
    )
    token = deep_link.get_response_jwt(resources)
    return_url = html.escape(str(settings["deep_link_return_url"]), quote=True)
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>Returning to your course</title></head><body>"
        f"<form id='dl' action='{return_url}' method='post'>"
        f"<input type='hidden' name='JWT' value='{html.escape(token, quote=True)}'>"
        "<noscript><button type='submit'>Return to the course</button></noscript></form>"
        "<p>Returning to your course&hellip;</p>"
        "<script>document.getElementById('dl').submit();</script></body></html>"
    )
