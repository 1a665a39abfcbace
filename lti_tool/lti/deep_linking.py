"""LTI protocol: Deep Linking, the modules an instructor may place and the signed response.

The picker runs in the LMS frame, cross-site from the LMS, so it cannot count on a
cookie. Its POST is guarded instead by the browser's own request headers
(``Sec-Fetch-Site``, ``Origin``: a page elsewhere cannot forge them) and by a
single-use picker token issued with the launch and shown only in the picker page,
so the launch token alone (a bearer credential that may leak) cannot place links.
"""

from __future__ import annotations

import html
import secrets
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
from lti_tool.lti.link_urls import LinkPolicy, check_return_url
from lti_tool.lti.tool_conf import to_lti_registration

PICKER_RETRY_TTL_S = 600


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
    """Keep the deep-linking settings, and a fresh picker token, until a module is picked."""
    store.put(
        f"deeplink:{outcome.launch.id}",
        {
            "registration_id": outcome.registration.id,
            "deployment_id": outcome.tenant.deployment_id,
            "settings": outcome.claims.get(CLAIM_DEEP_LINKING) or {},
            "ags": outcome.claims.get(CLAIM_AGS),
            "picker_token": secrets.token_urlsafe(32),
        },
        ttl_s,
    )


def picker_token(store: ExpiringStore, ctx: LaunchContext) -> str:
    """The picker token of this launch's pending content selection (read only).

    Raises:
        LaunchRejected: ``deep_link_expired`` when the selection was returned or expired.
    """
    request = store.get(f"deeplink:{ctx.launch_id}")
    if request is None or not request.get("picker_token"):
        raise LaunchRejected(
            "deep_link_expired",
            "This content selection has expired: start it again.",
            400,
        )
    return str(request["picker_token"])


def check_same_origin_post(
    *,
    sec_fetch_site: str | None,
    origin: str | None,
    tool_origin: str,
    what: str = "The content selection",
) -> None:
    """Refuse a picker POST that a browser says came from another site.

    ``Sec-Fetch-Site`` (sent by current browsers, whatever the Referrer-Policy) must
    be ``same-origin``; without it, ``Origin`` must be the tool's. A request with
    neither is not from a browser a page elsewhere could drive, and still needs the
    picker token.

    Raises:
        LaunchRejected: ``cross_site_request`` (403).
    """
    if sec_fetch_site is not None:
        if sec_fetch_site != "same-origin":
            raise LaunchRejected(
                "cross_site_request",
                f"{what} was sent from another site ({sec_fetch_site}).",
                403,
            )
        return
    if origin is not None and origin.rstrip("/").lower() != tool_origin:
        raise LaunchRejected(
            "cross_site_request",
            f"{what} was sent from another origin ({origin[:100]}).",
            403,
        )


def build_response_form(
    session: Session,
    store: ExpiringStore,
    ctx: LaunchContext,
    *,
    module_ids: list[int],
    picker_token_given: str,
    links: LinkPolicy,
) -> str:
    """Sign an LtiDeepLinkingResponse with ltiResourceLinks and return its auto-post form.

    The picker token must be this selection's; it is used once. The return URL is
    checked again against the registration before it becomes the form's action.
    """
    key = f"deeplink:{ctx.launch_id}"
    expected = picker_token(store, ctx)
    if not picker_token_given or not secrets.compare_digest(
        expected.encode(), picker_token_given.encode()
    ):
        raise LaunchRejected(
            "bad_picker_token",
            "This content selection form is not the one Pathwise showed: start it again.",
            403,
        )
    request = store.pop(key)
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
    settings: dict[str, Any] = request["settings"]
    return_url = check_return_url(
        settings.get("deep_link_return_url"), registration, policy=links
    )
    allowed = {m.id: m for m in catalogue_modules(session, ctx.tenant_id)}
    chosen = [allowed[i] for i in module_ids if i in allowed]
    if not chosen:
        store.put(key, request, PICKER_RETRY_TTL_S)
        raise LaunchRejected("no_module", "Choose at least one module.", 400)
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
            .set_url(links.launch_url)
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
    action = html.escape(return_url, quote=True)
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>Returning to your course</title></head><body>"
        f"<form id='dl' action='{action}' method='post' data-autosubmit>"
        f"<input type='hidden' name='JWT' value='{html.escape(token, quote=True)}'>"
        "<noscript><button type='submit'>Return to the course</button></noscript></form>"
        "<p>Returning to your course&hellip;</p>"
        # No inline script (the pages' CSP allows none without a nonce): the shared
        # static script submits forms marked data-autosubmit.
        "<script src='/static/pathwise.js'></script></body></html>"
    )
