"""LTI protocol: registering LMS platforms (Dynamic Registration, manual, install values)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import jwt
import requests
from pylti1p3.dynamic_registration import DynamicRegistration
from pylti1p3.exception import LtiException, LtiServiceException
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

CANVAS_ISSUER = "https://canvas.instructure.com"
# Hosted Canvas signs as one of these issuers but serves its configuration from the
# school's own *.instructure.com host.
CANVAS_HOSTED_ISSUERS = {
    CANVAS_ISSUER,
    "https://canvas.beta.instructure.com",
    "https://canvas.test.instructure.com",
}
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
REQUEST_TIMEOUT_S = 10


class RegistrationFailed(Exception):
    """Dynamic or manual registration that cannot complete; the message is for the admin."""


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
    settings: Settings, *, created_by: str, now: float | None = None
) -> str:
    """A signed, expiring invitation that authorises one Dynamic Registration URL."""
    moment = int(time.time() if now is None else now)
    return jwt.encode(
        {
            "typ": "pathwise-invite",
            "by": created_by,
            "iat": moment,
            "exp": moment + INVITE_TTL_S,
        },
        settings.secret_key,
        algorithm="HS256",
    )


def check_invitation(settings: Settings, invitation: str) -> str:
    try:
        payload = jwt.decode(invitation, settings.secret_key, algorithms=["HS256"])
    except jwt.InvalidTokenError:
        raise RegistrationFailed(
            "This registration URL is not valid or has expired. Create a new one in "
            "Pathwise's admin console (Platforms → Create a Dynamic Registration URL)."
        ) from None
    if payload.get("typ") != "pathwise-invite":
        raise RegistrationFailed("This registration URL is not valid.")
    return str(payload.get("by", ""))


def platform_kind_for(issuer: str, product: str = "") -> str:
    text = f"{issuer} {product}".lower()
    if "canvas" in text or "instructure" in text:
        return "canvas"
    if "moodle" in text:
        return "moodle"
    if "workday" in text:
        return "workday"
    return "other"


class _TimeoutSession(requests.Session):
    """A platform that never answers must not hang an admin's registration page."""

    def request(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", REQUEST_TIMEOUT_S)
        return super().request(*args, **kwargs)


class _PathwiseDynamicRegistration(DynamicRegistration):
    client_name = TOOL_NAME
    description = TOOL_DESCRIPTION

    def __init__(self, settings: Settings, openid_url: str, token: str | None) -> None:
        self._settings = settings
        self._openid_url = openid_url
        self._token = token

    def get_request_session(self) -> requests.Session:
        return _TimeoutSession()

    def get_initiate_login_uri(self) -> str:
        return self._settings.base_url + "/lti/login"

    def get_jwks_uri(self) -> str:
        return self._settings.base_url + "/lti/jwks"

    def get_redirect_uris(self) -> list[str]:
        return [self._settings.base_url + "/lti/launch"]

    def get_scopes(self) -> list[str]:
        return list(SCOPES)

    def get_domain(self) -> str:
        return urlparse(self._settings.base_url).netloc

    def get_target_link_uri(self) -> str:
        return self._settings.base_url + "/lti/launch"

    def get_claims(self) -> list[str]:
        return ["iss", "sub", "name", "given_name", "family_name", "email"]

    def get_messages(self) -> list[dict[str, Any]]:
        return [
            {
                "type": "LtiDeepLinkingRequest",
                "target_link_uri": self._settings.base_url + "/lti/launch",
                "label": "Add a Pathwise adaptive module",
            }
        ]

    def get_description(self) -> str:
        return TOOL_DESCRIPTION

    def lti_registration_data(self) -> dict[str, Any]:
        data: dict[str, Any] = super().lti_registration_data()
        tool = data["https://purl.imsglobal.org/spec/lti-tool-configuration"]
        # Canvas reads these: without a privacy level it sends no names or emails.
        tool["https://canvas.instructure.com/lti/privacy_level"] = "public"
        tool["messages"] = [
            *tool["messages"],
            {
                "type": "LtiResourceLinkRequest",
                "target_link_uri": self._settings.base_url + "/lti/launch",
                "label": TOOL_NAME,
                "placements": ["course_navigation"],
            },
        ]
        for message in tool["messages"]:
            if message["type"] == "LtiDeepLinkingRequest":
                message.setdefault(
                    "placements", ["link_selection", "assignment_selection"]
                )
        return data

    def get_logo_uri(self) -> str:
        return self._settings.base_url + "/static/logo.png"

    def get_openid_configuration_endpoint(self) -> str:
        return self._openid_url

    def get_registration_token(self) -> str:
        return self._token or ""

    def complete_registration(
        self, openid_configuration: dict[str, Any], openid_registration: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "configuration": openid_configuration,
            "registration": openid_registration,
        }


def _issuer_matches(issuer: str, configuration_url: str) -> bool:
    if configuration_url.startswith(issuer.rstrip("/")):
        return True
    host = urlparse(configuration_url).hostname or ""
    return (
        issuer in CANVAS_HOSTED_ISSUERS
        and urlparse(configuration_url).scheme == "https"
        and host.endswith(".instructure.com")
    )


def register_platform(
    session: Session,
    *,
    settings: Settings,
    openid_configuration_url: str,
    registration_token: str | None,
    invitation: str,
) -> dict[str, Any]:
    """Run LTI Dynamic Registration and store the new registration and deployment."""
    if not openid_configuration_url:
        raise RegistrationFailed(
            "This is Pathwise's Dynamic Registration URL: paste it into your LMS's "
            "'Register a tool' screen rather than opening it directly."
        )
    invited_by = (
        check_invitation(settings, invitation)
        if settings.is_production or invitation
        else ""
    )
    parsed = urlparse(openid_configuration_url)
    if parsed.scheme not in {"https", "http"} or not parsed.netloc:
        raise RegistrationFailed("openid_configuration is not a URL.")
    if settings.is_production and parsed.scheme != "https":
        raise RegistrationFailed("openid_configuration must use https.")
    flow = _PathwiseDynamicRegistration(
        settings, openid_configuration_url, registration_token
    )
    try:
        config = flow.get_openid_configuration()
        issuer = str(config.get("issuer", ""))
        # Spec: the configuration URL must live under the issuer it claims (hosted
        # Canvas: under the school's instructure.com host).
        if not issuer or not _issuer_matches(issuer, openid_configuration_url):
            raise RegistrationFailed(
                f"The platform's issuer {issuer!r} does not match its configuration URL."
            )
        result = flow.register()
    except (
        LtiServiceException,
        LtiException,
        requests.RequestException,
        AssertionError,
    ) as exc:
        raise RegistrationFailed(
            f"The LMS did not accept the registration: {exc}"
        ) from None
    config, reg = result["configuration"], result["registration"]
    tool_conf = reg.get("https://purl.imsglobal.org/spec/lti-tool-configuration", {})
    product = config.get(
        "https://purl.imsglobal.org/spec/lti-platform-configuration", {}
    ).get("product_family_code", "")
    kind = platform_kind_for(issuer, product)
    registration = add_registration(
        session,
        name=f"{product or kind} ({urlparse(issuer).netloc})",
        platform_kind=kind,
        issuer=issuer,
        client_id=str(reg["client_id"]),
        auth_login_url=str(config["authorization_endpoint"]),
        auth_token_url=str(config["token_endpoint"]),
        key_set_url=str(config["jwks_uri"]),
        auth_audience=config.get("authorization_server"),
        deployment_id=tool_conf.get("deployment_id"),
        unknown_deployment_policy=UNKNOWN_DEPLOYMENT_AUTO if kind == "canvas" else None,
        actor=f"dynamic-registration{(' invited by ' + invited_by) if invited_by else ''}",
    )
    return {
        "issuer": issuer,
        "client_id": registration.client_id,
        "deployment_id": tool_conf.get("deployment_id"),
        "platform": kind,
    }


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
) -> Registration:
    """Create or update a registration (and a deployment); audited."""
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
