"""LTI protocol: OIDC third-party login initiation, the first step of every launch."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode, urlparse

from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_tool.infra.models import Registration
from lti_tool.infra.store import ExpiringStore
from lti_tool.lti.errors import LaunchRejected
from lti_tool.lti.link_urls import check_target_link_uri
from lti_tool.lti.login_state import remember_login
from lti_tool.lti.tool_conf import DatabaseToolConf

STATE_COOKIE_PREFIX = "pathwise_state_"


@dataclass(frozen=True)
class LoginRedirect:
    """Where to send the browser after OIDC login initiation, and what to remember."""

    auth_url: str
    state: str
    nonce: str
    storage_target: str | None
    auth_origin: str


def begin_login(
    session: Session,
    store: ExpiringStore,
    *,
    params: Mapping[str, str],
    launch_url: str,
    state_ttl_s: int,
) -> LoginRedirect:
    """Validate OIDC third-party login initiation and prepare the auth request."""
    iss = (params.get("iss") or "").strip()
    login_hint = params.get("login_hint") or ""
    if not iss:
        raise LaunchRejected(
            "missing_issuer", "The login request did not name an issuer (iss)."
        )
    if not login_hint:
        raise LaunchRejected(
            "missing_login_hint", "The login request has no login_hint."
        )
    target_link_uri = params.get("target_link_uri") or ""
    if target_link_uri:
        # Refused before anything is stored: a login for another tool's URL is not ours.
        check_target_link_uri(target_link_uri, launch_url=launch_url)
    client_id = params.get("client_id") or None
    conf = DatabaseToolConf(session)
    registration = conf.registration_row(iss, client_id)
    if registration is None:
        known = session.scalar(
            select(Registration.id).where(Registration.issuer == iss)
        )
        if known is None:
            raise LaunchRejected(
                "unknown_issuer", f"No platform is registered with issuer {iss}.", 403
            )
        raise LaunchRejected(
            "unknown_client",
            f"Issuer {iss} has no registration with client_id {client_id or '(none given)'}.",
            403,
        )
    state = "st-" + secrets.token_urlsafe(24)
    nonce = secrets.token_urlsafe(24)
    storage_target = params.get("lti_storage_target") or None
    remember_login(
        store,
        state,
        {
            "nonce": nonce,
            "registration_id": registration.id,
            "target_link_uri": target_link_uri,
            "storage_target": storage_target,
            "login_params": {k: v for k, v in params.items() if isinstance(v, str)},
        },
        ttl_s=state_ttl_s,
    )
    auth_params = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": registration.client_id,
        "redirect_uri": launch_url,
        "state": state,
        "nonce": nonce,
        "login_hint": login_hint,
    }
    if params.get("lti_message_hint"):
        auth_params["lti_message_hint"] = params["lti_message_hint"]
    separator = "&" if "?" in registration.auth_login_url else "?"
    auth_url = registration.auth_login_url + separator + urlencode(auth_params)
    return LoginRedirect(
        auth_url=auth_url,
        state=state,
        nonce=nonce,
        storage_target=storage_target,
        auth_origin=auth_origin(registration),
    )


def auth_origin(registration: Registration) -> str:
    """The origin of the LMS's auth endpoint: where platform-storage messages go."""
    parsed = urlparse(registration.auth_login_url)
    return f"{parsed.scheme}://{parsed.netloc}"
