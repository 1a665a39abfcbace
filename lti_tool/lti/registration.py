"""LTI protocol: platform registrations (created or updated, audited), invitations, install values."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import jwt
from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_tool.infra.audit import record_audit
from lti_tool.infra.config import Settings
from lti_tool.infra.models import (
    UNKNOWN_DEPLOYMENT_AUTO,
    UNKNOWN_DEPLOYMENT_REJECT,
    Deployment,
    Registration,
)
from lti_tool.infra.store import ExpiringStore

TOOL_NAME = "Pathwise"
TOOL_DESCRIPTION = (
    "Adaptive learning paths: skips what each learner has mastered, remediates with "
    "a different explanation, and stops at the level their role needs."
)
SCOPES = [
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
]
INVITE_TTL_S = 7 * 24 * 3600
_INVITE_USED_KEY = "dr-invite-used:{fingerprint}"


class RegistrationFailed(Exception):
    """Dynamic or manual registration that cannot complete; the message is for the admin."""

    status = 400


class RegistrationRefused(RegistrationFailed):
    """A registration Pathwise will not make (it would replace one, or it needs an
    invitation); audited before it is raised, and the audit entry is kept."""

    def __init__(self, message: str, *, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Invitation:
    """Who allowed a Dynamic Registration, and which registration it may replace."""

    created_by: str
    # Set when an admin asked to re-register one platform: only then may Dynamic
    # Registration update an existing registration (of that platform).
    registration_id: int | None = None
    # The invitation's digest and expiry: it registers one platform, once.
    fingerprint: str = ""
    expires_at: int = 0


@dataclass(frozen=True)
class InstallValues:
    """What an LMS admin pastes into Moodle, Canvas or Workday."""

    tool_url: str
    login_url: str
    redirect_url: str
    jwks_url: str
    registration_url: str
    canvas_json_url: str
    deep_link_url: str


def install_values(settings: Settings, *, invite: str = "") -> InstallValues:
    base = settings.base_url
    registration_url = base + "/lti/register" + (f"?invite={invite}" if invite else "")
    return InstallValues(
        tool_url=base + "/lti/launch",
        login_url=base + "/lti/login",
        redirect_url=base + "/lti/launch",
        jwks_url=base + "/lti/jwks",
        registration_url=registration_url,
        canvas_json_url=base + "/lti/canvas.json",
        deep_link_url=base + "/lti/launch",
    )


def make_invitation(
    settings: Settings,
    *,
    created_by: str,
    registration_id: int | None = None,
    now: float | None = None,
) -> str:
    """A signed, expiring invitation that authorises one Dynamic Registration URL.

    With ``registration_id`` it also lets that platform replace that registration
    (a re-registration an admin asked for); without it, Dynamic Registration only
    ever creates registrations.
    """
    moment = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "typ": "pathwise-invite",
        # Unique even for two made in the same second: each is used once.
        "jti": secrets.token_urlsafe(12),
        "by": created_by,
        "iat": moment,
        "exp": moment + INVITE_TTL_S,
    }
    if registration_id is not None:
        claims["reg"] = registration_id
    return jwt.encode(claims, settings.secret_key, algorithm="HS256")


def check_invitation(settings: Settings, invitation: str) -> Invitation:
    try:
        payload = jwt.decode(invitation, settings.secret_key, algorithms=["HS256"])
    except jwt.InvalidTokenError:
        raise RegistrationFailed(
            "This registration URL is not valid or has expired. Create a new one in "
            "Pathwise's admin console (Platforms → Create a Dynamic Registration URL)."
        ) from None
    if payload.get("typ") != "pathwise-invite":
        raise RegistrationFailed("This registration URL is not valid.")
    registration_id = payload.get("reg")
    expires_at = payload.get("exp")
    return Invitation(
        created_by=str(payload.get("by", "")),
        registration_id=registration_id if isinstance(registration_id, int) else None,
        fingerprint=hashlib.sha256(invitation.encode()).hexdigest(),
        expires_at=expires_at if isinstance(expires_at, int) else 0,
    )


def invitation_used(store: ExpiringStore, invited: Invitation) -> bool:
    """Whether ``invited`` has already registered a platform."""
    key = _INVITE_USED_KEY.format(fingerprint=invited.fingerprint)
    return store.get(key) is not None


def claim_invitation(
    store: ExpiringStore, invited: Invitation, *, now: float | None = None
) -> bool:
    """Mark ``invited`` used; False when another registration claimed it first.

    A registration URL that leaks (a ticket, a chat, a screenshot) must not let
    someone else add a platform for the rest of its week, so it works once. The
    mark lives as long as the invitation could still be accepted.
    """
    moment = int(time.time() if now is None else now)
    ttl = max(invited.expires_at - moment, 1)
    key = _INVITE_USED_KEY.format(fingerprint=invited.fingerprint)
    return store.add_if_absent(key, {"used_at": moment}, ttl_s=ttl)


def platform_kind_for(issuer: str, product: str = "") -> str:
    text = f"{issuer} {product}".lower()
    if "canvas" in text or "instructure" in text:
        return "canvas"
    if "moodle" in text:
        return "moodle"
    if "workday" in text:
        return "workday"
    return "other"


def add_registration(
    session: Session,
    *,
    issuer: str,
    client_id: str,
    auth_login_url: str,
    auth_token_url: str,
    key_set_url: str | None,
    deployment_id: str | None = None,
    name: str = "",
    platform_kind: str | None = None,
    auth_audience: str | None = None,
    unknown_deployment_policy: str | None = None,
    actor: str,
    allow_update: bool = False,
) -> Registration:
    """Create a registration (and a deployment), or update one; audited.

    An existing (issuer, client_id) is updated only with ``allow_update``: an
    admin's explicit edit (console, CLI) or a re-registration invited for it. A new
    key set URL on an existing row lets whoever serves it sign that tenant's
    launches, so nothing else may replace one.
    """
    for label, url in (
        ("auth login URL", auth_login_url),
        ("auth token URL", auth_token_url),
        ("key set URL", key_set_url or "https://x"),
        ("issuer", issuer),
    ):
        parsed = urlparse(url)
        if parsed.scheme not in {"http", "https"} or not parsed.netloc:
            raise RegistrationFailed(
                f"The {label} must be an absolute URL, got {url!r}."
            )
    kind = platform_kind or platform_kind_for(issuer)
    registration = session.scalar(
        select(Registration).where(
            Registration.issuer == issuer, Registration.client_id == client_id
        )
    )
    created = registration is None
    if registration is not None and not allow_update:
        record_audit(
            session,
            actor=actor,
            action="registration.refused",
            target=f"{issuer} {client_id}",
            details={"reason": "exists"},
        )
        raise RegistrationRefused(
            f"Pathwise already has a registration for {issuer} (client "
            f"{client_id}); it is not replaced. To change it, a Pathwise admin edits "
            "it in the console or creates a re-registration URL for it.",
            status=409,
        )
    if registration is None:
        registration = Registration(issuer=issuer, client_id=client_id)
        session.add(registration)
    registration.name = name or registration.name or f"{kind} {urlparse(issuer).netloc}"
    registration.platform_kind = kind
    registration.auth_login_url = auth_login_url
    registration.auth_token_url = auth_token_url
    registration.key_set_url = key_set_url
    registration.auth_audience = auth_audience
    registration.unknown_deployment_policy = unknown_deployment_policy or (
        UNKNOWN_DEPLOYMENT_AUTO if kind == "canvas" else UNKNOWN_DEPLOYMENT_REJECT
    )
    session.flush()
    if deployment_id:
        add_deployment(session, registration=registration, deployment_id=deployment_id)
    record_audit(
        session,
        actor=actor,
        action="registration.created" if created else "registration.updated",
        target=f"{issuer} {client_id}",
        details={"deployment_id": deployment_id, "platform": kind},
    )
    return registration


def add_deployment(
    session: Session, *, registration: Registration, deployment_id: str
) -> Deployment:
    existing = session.scalar(
        select(Deployment).where(
            Deployment.registration_id == registration.id,
            Deployment.deployment_id == deployment_id,
        )
    )
    if existing is not None:
        existing.active = True
        return existing
    deployment = Deployment(
        registration_id=registration.id,
        deployment_id=deployment_id,
        name=f"{registration.name} / {deployment_id}",
    )
    session.add(deployment)
    session.flush()
    return deployment


def list_registrations(session: Session) -> list[Registration]:
    return list(session.scalars(select(Registration).order_by(Registration.issuer)))


def canvas_developer_key_json(settings: Settings) -> dict[str, Any]:
    """Canvas 'Paste JSON' developer-key configuration."""
    base = settings.base_url
    domain = urlparse(base).netloc
    return {
        "title": TOOL_NAME,
        "description": TOOL_DESCRIPTION,
        "oidc_initiation_url": base + "/lti/login",
        "target_link_uri": base + "/lti/launch",
        "public_jwk_url": base + "/lti/jwks",
        "scopes": list(SCOPES),
        "extensions": [
            {
                "domain": domain,
                "tool_id": "pathwise",
                "platform": "canvas.instructure.com",
                "privacy_level": "public",
                "settings": {
                    "text": TOOL_NAME,
                    "icon_url": base + "/static/logo.png",
                    "placements": [
                        {
                            "placement": "link_selection",
                            "message_type": "LtiDeepLinkingRequest",
                            "target_link_uri": base + "/lti/launch",
                        },
                        {
                            "placement": "assignment_selection",
                            "message_type": "LtiDeepLinkingRequest",
                            "target_link_uri": base + "/lti/launch",
                        },
                        {
                            "placement": "course_navigation",
                            "message_type": "LtiResourceLinkRequest",
                            "target_link_uri": base + "/lti/launch",
                            "default": "disabled",
                        },
                    ],
                },
            }
        ],
        "custom_fields": {"canvas_user_login_id": "$Canvas.user.loginId"},
    }
