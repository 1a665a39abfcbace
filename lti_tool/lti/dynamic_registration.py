"""LTI protocol: LTI Dynamic Registration, the LMS and the tool exchanging configurations.

pylti1p3 runs the exchange; Pathwise adds the invitation check, the issuer check
(the configuration URL must live under the issuer it claims) and Canvas's settings.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import requests
from pylti1p3.dynamic_registration import DynamicRegistration
from pylti1p3.exception import LtiException, LtiServiceException
from sqlalchemy.orm import Session

from lti_tool.infra.config import Settings
from lti_tool.infra.models import UNKNOWN_DEPLOYMENT_AUTO
from lti_tool.lti.registration import (
    SCOPES,
    TOOL_DESCRIPTION,
    TOOL_NAME,
    RegistrationFailed,
    add_registration,
    check_invitation,
    platform_kind_for,
)

CANVAS_ISSUER = "https://canvas.instructure.com"
# Hosted Canvas signs as one of these issuers but serves its configuration from the
# school's own *.instructure.com host.
CANVAS_HOSTED_ISSUERS = {
    CANVAS_ISSUER,
    "https://canvas.beta.instructure.com",
    "https://canvas.test.instructure.com",
}
REQUEST_TIMEOUT_S = 10


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
