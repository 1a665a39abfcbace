"""LTI protocol: Deep Linking, the modules an instructor may place and the signed response."""

from __future__ import annotations

import html
from typing import Any

from pylti1p3.deep_link import DeepLink
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.lineitem import LineItem
from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive.models import Framework, Module
from lti_tool.infra.models import Registration
from lti_tool.infra.store import ExpiringStore
from lti_tool.infra.tenancy import visible_to_tenant
from lti_tool.lti.claims import CLAIM_AGS, CLAIM_DEEP_LINKING
from lti_tool.lti.errors import LaunchRejected
from lti_tool.lti.launch_record import LaunchOutcome
from lti_tool.lti.launch_token import LaunchContext
from lti_tool.lti.tool_conf import to_lti_registration


def catalogue_modules(session: Session, tenant_id: int) -> list[Module]:
    """Modules an instructor in this tenant may place: their own and the shared catalogue."""
    return list(
        session.scalars(
            select(Module)
            .join(Framework, Framework.id == Module.framework_id)
            .where(visible_to_tenant(Framework.tenant_id, tenant_id))
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
        f"<form id='dl' action='{return_url}' method='post' data-autosubmit>"
        f"<input type='hidden' name='JWT' value='{html.escape(token, quote=True)}'>"
        "<noscript><button type='submit'>Return to the course</button></noscript></form>"
        "<p>Returning to your course&hellip;</p>"
        # No inline script (the pages' CSP allows none without a nonce): the shared
        # static script submits forms marked data-autosubmit.
        "<script src='/static/pathwise.js'></script></body></html>"
    )
