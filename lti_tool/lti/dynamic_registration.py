"""LTI protocol: LTI Dynamic Registration, the LMS and the tool exchanging configurations.

pylti1p3 runs the exchange; Pathwise adds who may start one (an invitation, or a
loopback request to a demo install), the issuer check (the configuration URL must
live under the issuer it claims, exactly), the rule that Dynamic Registration never
replaces an existing registration unless an admin invited that, the guarded
outbound client, and Canvas's settings.
"""

from __future__ import annotations

import ipaddress
from typing import Any, NoReturn
from urllib.parse import urlsplit

import requests
from pylti1p3.dynamic_registration import DynamicRegistration
from pylti1p3.exception import LtiException, LtiServiceException
from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_tool.infra.audit import record_audit
from lti_tool.infra.config import Settings
from lti_tool.infra.models import UNKNOWN_DEPLOYMENT_AUTO, Registration
from lti_tool.infra.outbound import GuardedSession, describe_failure
from lti_tool.infra.store import ExpiringStore
from lti_tool.lti.registration import (
    SCOPES,
    TOOL_DESCRIPTION,
    TOOL_NAME,
    Invitation,
    RegistrationFailed,
    RegistrationRefused,
    add_registration,
    check_invitation,
    claim_invitation,
    invitation_used,
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
DEFAULT_PORTS = {"http": 80, "https": 443}


class _TimeoutSession(GuardedSession):
    """The guarded client; a platform that never answers must not hang the page."""

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
        self._configuration: dict[str, Any] | None = None

    def get_request_session(self) -> requests.Session:
        return _TimeoutSession()

    def get_openid_configuration(self) -> dict[str, Any]:
        """Fetched once: ``register()`` must use the configuration whose issuer was
        checked, not a second answer the platform may have changed."""
        if self._configuration is None:
            with self.get_request_session() as http:
                response = http.get(self._openid_url)
                response.raise_for_status()
                data = response.json()
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            self._configuration = data
        return self._configuration

    def get_initiate_login_uri(self) -> str:
        return self._settings.base_url + "/lti/login"

    def get_jwks_uri(self) -> str:
        return self._settings.base_url + "/lti/jwks"

    def get_redirect_uris(self) -> list[str]:
        return [self._settings.base_url + "/lti/launch"]

    def get_scopes(self) -> list[str]:
        return list(SCOPES)

    def get_domain(self) -> str:
        return urlsplit(self._settings.base_url).netloc

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


def _origin(url: str) -> tuple[str, str, int, str] | None:
    """Scheme, host, port and path of an absolute http(s) URL (None otherwise)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or DEFAULT_PORTS.get(scheme, 0)
    except ValueError:
        return None
    if scheme not in DEFAULT_PORTS or not parts.hostname or parts.username:
        return None
    return scheme, parts.hostname.lower().rstrip("."), port, parts.path


def _issuer_matches(issuer: str, configuration_url: str) -> bool:
    """LTI Dynamic Registration: the configuration URL must start with the issuer.

    Compared as URLs, not strings: the same scheme, host and port, and the
    issuer's path as a whole-segment prefix of the configuration's path (so
    ``http://lms:5078`` is not the issuer of ``http://lms:50780/openid``, nor is
    ``https://lms/moodle`` of ``https://lms/moodle-evil/...``). An issuer with a
    query or fragment is not an issuer. Hosted Canvas is the one exception its
    documentation names: it signs as ``canvas.instructure.com`` and serves the
    configuration from the school's ``*.instructure.com`` host.
    """
    issuer_parts = urlsplit(issuer)
    if issuer_parts.query or issuer_parts.fragment:
        return False
    theirs, ours = _origin(issuer), _origin(configuration_url)
    if theirs is None or ours is None:
        return False
    if issuer.rstrip("/") in CANVAS_HOSTED_ISSUERS:
        return ours[0] == "https" and ours[1].endswith(".instructure.com")
    if theirs[:3] != ours[:3]:
        return False
    prefix = theirs[3].rstrip("/")
    return not prefix or ours[3] == prefix or ours[3].startswith(prefix + "/")


def _is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def authorise_registration(
    settings: Settings, *, invitation: str, client_address: str
) -> Invitation | None:
    """Who allows this Dynamic Registration: a signed invitation, or (a demo only)
    a loopback request to a loopback install.

    Without an invitation anyone who can reach ``/lti/register`` could add a
    platform, so that is allowed only with ``PATHWISE_DR_WITHOUT_INVITATION`` (set by
    ``pathwise demo``; refused in production and by ``pathwise serve``), when the
    install's base URL is loopback and the request comes from loopback.
    """
    if invitation or settings.is_production:
        return check_invitation(settings, invitation)
    base_host = urlsplit(settings.base_url).hostname or ""
    if (
        settings.open_local_registration
        and _is_loopback(base_host)
        and _is_loopback(client_address)
    ):
        return None
    raise RegistrationRefused(
        "Dynamic Registration needs a registration URL from Pathwise's admin console "
        "(Platforms → Create a Dynamic Registration URL): paste that URL into your "
        "LMS instead of the bare /lti/register address."
    )


def _refuse(session: Session, actor: str, issuer: str, reason: str) -> None:
    record_audit(
        session,
        actor=actor,
        action="registration.refused",
        target=issuer,
        details={"reason": reason},
    )


def _refuse_used(session: Session, actor: str, issuer: str = "") -> NoReturn:
    _refuse(session, actor, issuer, "registration URL already used")
    raise RegistrationRefused(
        "This registration URL has already been used: each one registers one "
        "platform, once. Create a new one in Pathwise's admin console (Platforms → "
        "Create a Dynamic Registration URL).",
        status=409,
    )


def _check_replacement(
    session: Session, issuer: str, invited: Invitation | None, actor: str
) -> None:
    """A platform that already has a registration here may not add or replace one
    unless an admin invited a re-registration of one of its registrations.

    Even with the exact issuer rule, whoever can serve a file under the LMS's
    address could pass the issuer check; the existing registration is the LMS
    admins' to change. A new client of the same issuer is refused too: it is the
    same platform, so its admin re-registers through an invitation for it.
    """
    if issuer.rstrip("/") in CANVAS_HOSTED_ISSUERS:
        # Every hosted Canvas school signs as this issuer, each with its own client
        # (developer key): a new client is a new school, and replacing an existing
        # client is still refused (add_registration).
        return
    existing = list(
        session.scalars(select(Registration.id).where(Registration.issuer == issuer))
    )
    if not existing:
        return
    if invited is not None and invited.registration_id in existing:
        return
    _refuse(session, actor, issuer, "issuer already registered")
    raise RegistrationRefused(
        f"Pathwise already has a registration for {issuer}. Dynamic Registration "
        "never replaces one: a Pathwise admin can edit it in the console, or create "
        "a re-registration URL for it.",
        status=409,
    )


def register_platform(
    session: Session,
    *,
    settings: Settings,
    openid_configuration_url: str,
    registration_token: str | None,
    invitation: str,
    store: ExpiringStore,
    client_address: str = "",
) -> dict[str, Any]:
    """Run LTI Dynamic Registration and store the new registration and deployment.

    Raises RegistrationRefused (audited; the caller keeps that audit entry) when
    the request may not register or would replace a registration, and
    RegistrationFailed for anything else.
    """
    if not openid_configuration_url:
        raise RegistrationFailed(
            "This is Pathwise's Dynamic Registration URL: paste it into your LMS's "
            "'Register a tool' screen rather than opening it directly."
        )
    invited = authorise_registration(
        settings, invitation=invitation, client_address=client_address
    )
    actor = "dynamic-registration" + (
        f" invited by {invited.created_by}" if invited and invited.created_by else ""
    )
    if invited is not None and invitation_used(store, invited):
        _refuse_used(session, actor)
    parsed = urlsplit(openid_configuration_url)
    if parsed.scheme not in {"https", "http"} or not parsed.netloc:
        raise RegistrationFailed("openid_configuration is not a URL.")
    if settings.is_production and parsed.scheme != "https":
        raise RegistrationFailed("openid_configuration must use https.")
    flow = _PathwiseDynamicRegistration(
        settings, openid_configuration_url, registration_token
    )
    where = parsed.netloc
    try:
        config = flow.get_openid_configuration()
    except (requests.RequestException, ValueError) as exc:
        raise RegistrationFailed(
            "The LMS's configuration could not be read: "
            + describe_failure(openid_configuration_url, exc)
        ) from None
    issuer = config.get("issuer")
    if not isinstance(issuer, str) or not _issuer_matches(
        issuer, openid_configuration_url
    ):
        # The claimed issuer is not echoed: it is the remote's text.
        raise RegistrationFailed(
            f"The platform's issuer does not match its configuration URL ({where}): "
            "the configuration must be served under the issuer's own address."
        )
    if invited is not None and invited.registration_id is not None:
        target = session.get(Registration, invited.registration_id)
        if target is None or target.issuer != issuer:
            _refuse(session, actor, issuer, "re-registration URL for another platform")
            raise RegistrationRefused(
                "This re-registration URL was created for another platform."
            )
    _check_replacement(session, issuer, invited, actor)
    try:
        result = flow.register()
    except (LtiServiceException, requests.RequestException) as exc:
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
        detail = (
            f"{where} answered {status}."
            if status is not None
            else describe_failure(openid_configuration_url, exc)
        )
        raise RegistrationFailed(
            f"The LMS did not accept the registration: {detail}"
        ) from None
    except (LtiException, AssertionError, ValueError):
        raise RegistrationFailed(
            f"The LMS at {where} did not answer as LTI Dynamic Registration requires."
        ) from None
    config, reg = result["configuration"], result["registration"]
    tool_conf = reg.get("https://purl.imsglobal.org/spec/lti-tool-configuration", {})
    product = config.get(
        "https://purl.imsglobal.org/spec/lti-platform-configuration", {}
    ).get("product_family_code", "")
    kind = platform_kind_for(issuer, product)
    client_id = str(reg.get("client_id", ""))
    if not client_id:
        raise RegistrationFailed(f"The LMS at {where} returned no client_id.")
    invited_for = invited.registration_id if invited else None
    if invited is not None and not claim_invitation(store, invited):
        # Another registration with this URL finished while this one was running.
        _refuse_used(session, actor, issuer)
    existing = session.scalar(
        select(Registration.id).where(
            Registration.issuer == issuer, Registration.client_id == client_id
        )
    )
    try:
        registration = add_registration(
            session,
            name=f"{product or kind} ({urlsplit(issuer).netloc})",
            platform_kind=kind,
            issuer=issuer,
            client_id=client_id,
            auth_login_url=str(config["authorization_endpoint"]),
            auth_token_url=str(config["token_endpoint"]),
            key_set_url=str(config["jwks_uri"]),
            auth_audience=config.get("authorization_server"),
            deployment_id=tool_conf.get("deployment_id"),
            unknown_deployment_policy=UNKNOWN_DEPLOYMENT_AUTO
            if kind == "canvas"
            else None,
            actor=actor,
            allow_update=existing is not None and existing == invited_for,
        )
    except KeyError as exc:
        raise RegistrationFailed(
            f"The LMS's configuration at {where} has no {exc.args[0]}."
        ) from None
    return {
        "issuer": issuer,
        "client_id": registration.client_id,
        "deployment_id": tool_conf.get("deployment_id"),
        "platform": kind,
    }
