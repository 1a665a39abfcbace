"""LTI 1.3 services: OIDC login, launch validation (IMS security framework), tenants, tokens.

pylti1p3 verifies signatures against the platform's JWKS and runs the message
validators; around it we add what it lacks: checks in a fixed order with one
reason code each, a clock-skew leeway, ``aud``/``azp`` against the registration,
single-use state and nonces in a shared store, and per-tenant deployments.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
import requests
from pylti1p3.exception import LtiException, LtiKeyException
from pylti1p3.message_launch import MessageLaunch
from pylti1p3.request import Request as LtiRequest
from sqlalchemy import Integer, String, and_, bindparam, inspect, literal, select
from sqlalchemy.orm import Session

from lti_tool.infra.db import utcnow
from lti_tool.infra.models import (
    ROLE_ADMIN,
    ROLE_INSTRUCTOR,
    ROLE_LEARNER,
    UNKNOWN_DEPLOYMENT_AUTO,
    Course,
    Deployment,
    Enrolment,
    Launch,
    Person,
    Registration,
    ResourceLink,
)
from lti_tool.infra.store import ExpiringStore
from lti_tool.lti.tool_conf import DatabaseToolConf, tenant_row, to_lti_registration
from xapi.pull import pull_at_launch

log = logging.getLogger("pathwise.launch")

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
CLAIM_MESSAGE_TYPE = CLAIM + "message_type"
CLAIM_VERSION = CLAIM + "version"
CLAIM_DEPLOYMENT_ID = CLAIM + "deployment_id"
CLAIM_ROLES = CLAIM + "roles"
CLAIM_RESOURCE_LINK = CLAIM + "resource_link"
CLAIM_CONTEXT = CLAIM + "context"
CLAIM_CUSTOM = CLAIM + "custom"
CLAIM_TARGET_LINK_URI = CLAIM + "target_link_uri"
CLAIM_AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
CLAIM_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
CLAIM_DEEP_LINKING = (
    "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
)

MESSAGE_RESOURCE_LINK = "LtiResourceLinkRequest"
MESSAGE_DEEP_LINKING = "LtiDeepLinkingRequest"
KNOWN_MESSAGE_TYPES = (MESSAGE_RESOURCE_LINK, MESSAGE_DEEP_LINKING)

STATE_COOKIE_PREFIX = "pathwise_state_"
NONCE_TTL_S = 24 * 3600
JWKS_CACHE_TTL_S = 300
JWKS_TIMEOUT_S = 5
JWKS_REFETCH_COOLDOWN_S = 10
LAST_SEEN_RESOLUTION = dt.timedelta(minutes=1)

ADMIN_ROLE_SUFFIXES = ("#Administrator", "/Administrator")
INSTRUCTOR_ROLE_SUFFIXES = (
    "#Instructor",
    "#ContentDeveloper",
    "#Mentor",
    "#TeachingAssistant",
    "#Manager",
    "/Instructor",
    "/Faculty",
)
SHORT_ADMIN = {"Administrator", "SysAdmin"}
SHORT_INSTRUCTOR = {
    "Instructor",
    "ContentDeveloper",
    "Mentor",
    "TeachingAssistant",
    "Manager",
}


class LaunchRejected(Exception):
    """A launch or login that must not proceed; ``code`` names the reason for the log and page."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class LoginRedirect:
    """Where to send the browser after OIDC login initiation, and what to remember."""

    auth_url: str
    state: str
    nonce: str
    storage_target: str | None
    auth_origin: str


@dataclass
class LaunchOutcome:
    launch: Launch
    person: Person
    tenant: Deployment
    registration: Registration
    course: Course | None
    resource_link: ResourceLink | None
    role: str
    message_type: str
    claims: dict[str, Any] = field(default_factory=dict)


def map_lti_roles(roles: list[str]) -> str:
    """LTI role URIs (full or short) to Pathwise's learner / instructor / admin.

    Empty, unknown or missing roles make a learner: least privilege.
    """
    names = [r.strip() for r in roles if isinstance(r, str) and r.strip()]
    if any(r.endswith(ADMIN_ROLE_SUFFIXES) or r in SHORT_ADMIN for r in names):
        return ROLE_ADMIN
    if any(
        r.endswith(INSTRUCTOR_ROLE_SUFFIXES)
        or r in SHORT_INSTRUCTOR
        or "#Instructor" in r
        or r.endswith("Instructor#TeachingAssistant")
        for r in names
    ):
        return ROLE_INSTRUCTOR
    return ROLE_LEARNER


# --------------------------------------------------------------------- login


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
    store.put(
        "state:" + state,
        {
            "nonce": nonce,
            "registration_id": registration.id,
            "target_link_uri": params.get("target_link_uri") or "",
            "storage_target": storage_target,
            "login_params": {k: v for k, v in params.items() if isinstance(v, str)},
        },
        state_ttl_s,
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
    from urllib.parse import urlparse

    parsed = urlparse(registration.auth_login_url)
    return LoginRedirect(
        auth_url=auth_url,
        state=state,
        nonce=nonce,
        storage_target=storage_target,
        auth_origin=f"{parsed.scheme}://{parsed.netloc}",
    )


# -------------------------------------------------------------------- launch


class _FormRequest(LtiRequest):
    """The minimum of a request pylti1p3 needs, decoupled from Flask."""

    def __init__(self, form: Mapping[str, str], secure: bool) -> None:
        self._form = dict(form)
        self._secure = secure

    @property
    def session(self) -> dict[str, Any]:
        return {}

    def is_secure(self) -> bool:
        return self._secure

    def get_param(self, key: str) -> str:
        return self._form.get(key, "")


class _NoCookies:
    _cookie_prefix = "lti1p3"

    def get_cookie(self, name: str) -> str | None:
        return None

    def set_cookie(self, name: str, value: str | int, exp: int | None = 3600) -> None:
        return None


class _NoSession:
    """State and nonces are checked by us against the shared store, not by pylti1p3."""

    def check_nonce(self, nonce: str) -> bool:
        return True


class _Verifier(MessageLaunch[Any, Any, Any, Any]):
    def _get_request_param(self, key: str) -> str:
        value: str = self._request.get_param(key)
        return value


def _b64json(segment: str) -> dict[str, Any]:
    padded = segment + "=" * (-len(segment) % 4)
    value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def _decode_unverified(id_token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    parts = id_token.split(".")
    if len(parts) != 3:
        raise LaunchRejected(
            "malformed_token", "The id_token is not a JWT (three parts)."
        )
    try:
        return _b64json(parts[0]), _b64json(parts[1])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise LaunchRejected(
            "malformed_token", "The id_token cannot be decoded."
        ) from None


def _require(body: Mapping[str, Any], claim: str, label: str) -> Any:
    value = body.get(claim)
    if value in (None, "", [], {}):
        raise LaunchRejected(
            "missing_claim", f"The launch is missing the required claim {label}."
        )
    return value


def validate_launch(
    session: Session,
    store: ExpiringStore,
    *,
    form: Mapping[str, str],
    state_cookie: str | None,
    platform_storage_state: str | None,
    leeway_s: float,
    secure: bool,
    requests_session: requests.Session | None = None,
    now: float | None = None,
) -> tuple[Registration, Deployment, dict[str, Any]]:
    """Validate an id_token POST; return the registration, tenant and verified claims.

    Raises LaunchRejected with one reason code per failure, checked in this order:
    token shape, registration (iss, aud/azp), signature (kid), time (exp/iat with
    leeway), nonce (single use), state (exists, browser-bound), message, deployment.
    """
    moment = time.time() if now is None else now
    id_token = form.get("id_token") or ""
    state = form.get("state") or ""
    if form.get("error") and not id_token:
        # OIDC error response: the LMS refused the login and says why.
        detail = f"{form['error']} {form.get('error_description') or ''}".strip()
        raise LaunchRejected("platform_error", f"The LMS refused the login: {detail}")
    if not id_token:
        raise LaunchRejected("malformed_token", "The launch carried no id_token.")
    if not state:
        raise LaunchRejected("missing_state", "The launch carried no state parameter.")
    header, body = _decode_unverified(id_token)
    if not header.get("kid"):
        raise LaunchRejected("missing_kid", "The id_token header has no key id (kid).")
    if not isinstance(body.get("iss"), str) or not body.get("iss"):
        raise LaunchRejected(
            "missing_claim", "The launch is missing the required claim iss."
        )
    iss: str = body["iss"]
    aud = body.get("aud")
    if aud in (None, "", []):
        raise LaunchRejected(
            "missing_claim", "The launch is missing the required claim aud."
        )
    audiences = (
        [aud] if isinstance(aud, str) else [a for a in aud if isinstance(a, str)]
    )
    azp = body.get("azp")
    if len(audiences) > 1 and not azp:
        raise LaunchRejected(
            "wrong_audience", "aud lists several clients but azp is missing."
        )
    client_id = azp if isinstance(azp, str) and azp else audiences[0]
    if client_id not in audiences:
        raise LaunchRejected(
            "wrong_audience", "azp is not one of the token's audiences."
        )

    conf = DatabaseToolConf(session)
    registration = conf.registration_row(iss, client_id)
    if registration is None:
        if (
            session.scalar(select(Registration.id).where(Registration.issuer == iss))
            is None
        ):
            raise LaunchRejected(
                "unknown_issuer", f"No platform is registered as {iss}.", 403
            )
        raise LaunchRejected(
            "unknown_client",
            f"Issuer {iss} has no registration for client {client_id}.",
            403,
        )

    state_record = store.get("state:" + state)
    if (
        state_record is not None
        and state_record.get("registration_id") != registration.id
    ):
        # The login was started for another client of this LMS: the token is not for us.
        raise LaunchRejected(
            "wrong_audience",
            "The id_token's audience is not the client that started this login.",
        )

    verifier = _Verifier(
        _FormRequest(form, secure),
        conf,
        session_service=_NoSession(),
        cookie_service=_NoCookies(),
        requests_session=requests_session,
    )
    verifier.set_jwt({"header": header, "body": body})  # type: ignore[typeddict-item]
    verifier.set_jwt_verify_options(
        {
            "verify_aud": False,
            "verify_exp": False,
            "verify_iat": False,
            "verify_nbf": False,
        }
    )
    lti_registration = to_lti_registration(session, registration, with_tool_key=False)
    if registration.key_set is None and registration.key_set_url:
        lti_registration.set_key_set(
            platform_key_set(
                store,
                registration.key_set_url,
                kid=str(header["kid"]),
                requests_session=requests_session,
            )  # type: ignore[arg-type]
        )
    verifier._registration = lti_registration
    try:
        verifier.validate_jwt_signature()
    except LtiKeyException as exc:
        text = str(exc)
        if "Unable to find public key" in text:
            raise LaunchRejected(
                "unknown_kid",
                f"No platform key matches kid {header.get('kid')!r}.",
                401,
            ) from None
        raise LaunchRejected("platform_keys_unavailable", text, 502) from None
    except LtiException as exc:
        raise LaunchRejected(
            "bad_signature", f"Signature check failed: {exc}", 401
        ) from None

    exp, iat = body.get("exp"), body.get("iat")
    if not isinstance(exp, int | float):
        raise LaunchRejected(
            "missing_claim", "The launch is missing the required claim exp."
        )
    if not isinstance(iat, int | float):
        raise LaunchRejected(
            "missing_claim", "The launch is missing the required claim iat."
        )
    if exp + leeway_s < moment:
        raise LaunchRejected("expired", "The id_token has expired.", 401)
    if iat - leeway_s > moment:
        raise LaunchRejected(
            "iat_in_future", "The id_token was issued in the future.", 401
        )

    nonce = body.get("nonce")
    if not isinstance(nonce, str) or not nonce:
        raise LaunchRejected("bad_nonce", "The id_token has no nonce.")
    nonce_key = "nonce:" + hashlib.sha256(f"{iss}|{nonce}".encode()).hexdigest()
    if not store.add_if_absent(nonce_key, 1, NONCE_TTL_S):
        raise LaunchRejected(
            "replayed_nonce", "This id_token's nonce was already used.", 401
        )

    state_record = store.pop("state:" + state)
    if state_record is None:
        raise LaunchRejected("bad_state", "The state is unknown or was already used.")
    if not secrets.compare_digest(str(state_record.get("nonce", "")), nonce):
        raise LaunchRejected(
            "bad_nonce", "The nonce does not match the one this login issued."
        )
    bound = (
        state_cookie is not None and secrets.compare_digest(state_cookie, state)
    ) or (
        platform_storage_state is not None
        and state_record.get("storage_target")
        and secrets.compare_digest(platform_storage_state, state)
    )
    if not bound:
        raise LaunchRejected(
            "bad_state",
            "This browser did not start the login (no matching state cookie or platform "
            "storage): cookies may be blocked in the LMS frame.",
        )

    validate_message_claims(body)
    deployment_id = body.get(CLAIM_DEPLOYMENT_ID)
    if not isinstance(deployment_id, str) or not deployment_id:
        raise LaunchRejected(
            "missing_claim", "The launch is missing the required claim deployment_id."
        )
    tenant = tenant_row(session, registration.id, deployment_id)
    if tenant is None:
        if registration.unknown_deployment_policy != UNKNOWN_DEPLOYMENT_AUTO:
            raise LaunchRejected(
                "unknown_deployment",
                f"Deployment {deployment_id} is not registered for this platform.",
                403,
            )
        tenant = Deployment(
            registration_id=registration.id,
            deployment_id=deployment_id,
            name=f"{registration.name or iss} / {deployment_id}",
            auto_registered=True,
        )
        session.add(tenant)
        session.flush()
        log.info("deployment auto-registered: %s %s", iss, deployment_id)
    elif not tenant.active:
        raise LaunchRejected(
            "unknown_deployment", "This deployment has been disabled.", 403
        )
    return registration, tenant, body


def platform_key_set(
    store: ExpiringStore,
    key_set_url: str,
    *,
    kid: str,
    requests_session: requests.Session | None = None,
) -> dict[str, Any]:
    """The platform's JWKS, cached in the shared store; refetched when a kid is new.

    Fetching the key set on every launch would tie our throughput to the LMS's;
    refetching on an unknown kid picks up a platform's key rotation at once.
    """
    url_hash = hashlib.sha256(key_set_url.encode()).hexdigest()
    cache_key = "jwks:" + url_hash
    cached = store.get(cache_key)
    if cached and any(k.get("kid") == kid for k in cached.get("keys", [])):
        return dict(cached)
    if cached and not store.add_if_absent(
        "jwks-refetch:" + url_hash, 1, JWKS_REFETCH_COOLDOWN_S
    ):
        # Tokens with made-up kids must not turn us into a fetch loop against the
        # LMS: one refetch per cooldown; a real rotation is seen at the first one.
        return dict(cached)
    http = requests_session or requests.Session()
    try:
        response = http.get(key_set_url, timeout=JWKS_TIMEOUT_S)
        response.raise_for_status()
        key_set = response.json()
    except (requests.RequestException, ValueError) as exc:
        if cached:
            return dict(cached)
        raise LaunchRejected(
            "platform_keys_unavailable",
            f"The LMS's public keys could not be fetched from {key_set_url}: {exc}",
            502,
        ) from None
    if not isinstance(key_set, dict) or not isinstance(key_set.get("keys"), list):
        raise LaunchRejected(
            "platform_keys_unavailable", f"{key_set_url} did not return a JWKS.", 502
        )
    store.put(cache_key, key_set, JWKS_CACHE_TTL_S)
    return key_set


def validate_message_claims(body: Mapping[str, Any]) -> None:
    """The LTI message rules (version, type, subject, roles, resource link)."""
    message_type = body.get(CLAIM_MESSAGE_TYPE)
    version = body.get(CLAIM_VERSION)
    if message_type is None and version is None:
        raise LaunchRejected("not_lti", "The token is a JWT but not an LTI message.")
    if version != "1.3.0":
        raise LaunchRejected("bad_lti_version", f"Unsupported LTI version {version!r}.")
    if not message_type:
        raise LaunchRejected(
            "missing_claim", "The launch is missing the required claim message_type."
        )
    if message_type not in KNOWN_MESSAGE_TYPES:
        raise LaunchRejected(
            "unsupported_message", f"Unsupported message type {message_type}."
        )
    _require(body, "sub", "sub")
    if CLAIM_ROLES not in body or not isinstance(body[CLAIM_ROLES], list):
        raise LaunchRejected(
            "missing_claim", "The launch is missing the required claim roles."
        )
    if message_type == MESSAGE_RESOURCE_LINK:
        link = body.get(CLAIM_RESOURCE_LINK)
        if not isinstance(link, dict) or not link.get("id"):
            raise LaunchRejected(
                "missing_claim",
                "The launch is missing the required claim resource_link.id.",
            )
    if message_type == MESSAGE_DEEP_LINKING:
        settings = body.get(CLAIM_DEEP_LINKING)
        if not isinstance(settings, dict) or not settings.get("deep_link_return_url"):
            raise LaunchRejected(
                "missing_claim",
                "The launch is missing deep_linking_settings.deep_link_return_url.",
            )


_ONE_ROW = select(literal(1).label("one")).subquery("one_row")
# Outer joins from a single row: every entity comes back, None where it is new.
_KNOWN_LAUNCH_ROWS = (
    select(Person, Course, Enrolment, ResourceLink)
    .select_from(_ONE_ROW)
    .outerjoin(
        Person,
        and_(
            Person.tenant_id == bindparam("tenant_id", type_=Integer),
            Person.sub == bindparam("sub", type_=String),
        ),
    )
    .outerjoin(
        Course,
        and_(
            Course.tenant_id == bindparam("tenant_id", type_=Integer),
            Course.context_id == bindparam("context_id", type_=String),
        ),
    )
    .outerjoin(
        Enrolment,
        and_(Enrolment.person_id == Person.id, Enrolment.course_id == Course.id),
    )
    .outerjoin(
        ResourceLink,
        and_(
            ResourceLink.tenant_id == bindparam("tenant_id", type_=Integer),
            ResourceLink.resource_link_id
            == bindparam("resource_link_id", type_=String),
        ),
    )
)


def record_launch(
    session: Session,
    *,
    registration: Registration,
    tenant: Deployment,
    claims: dict[str, Any],
) -> LaunchOutcome:
    """Resolve person, course, resource link inside the tenant and store the launch."""
    now = utcnow()
    sub = str(claims["sub"])
    context = claims.get(CLAIM_CONTEXT)
    context_id = (
        str(context["id"]) if isinstance(context, dict) and context.get("id") else None
    )
    link_claim = claims.get(CLAIM_RESOURCE_LINK)
    link_id = (
        str(link_claim["id"])
        if isinstance(link_claim, dict) and link_claim.get("id")
        else None
    )
    # A returning learner's rows in one round trip (each may be missing).
    known = session.execute(
        _KNOWN_LAUNCH_ROWS,
        {
            "tenant_id": tenant.id,
            "sub": sub,
            "context_id": context_id,
            "resource_link_id": link_id,
        },
    ).one()
    person: Person | None = known[0]
    course: Course | None = known[1]
    enrolment: Enrolment | None = known[2]
    resource_link: ResourceLink | None = known[3]
    if person is None:
        person = Person(tenant_id=tenant.id, sub=sub)
        session.add(person)
    # Names and email are optional claims (privacy settings): keep what we knew.
    for attr, claim in (
        ("name", "name"),
        ("given_name", "given_name"),
        ("family_name", "family_name"),
        ("email", "email"),
    ):
        value = claims.get(claim)
        if isinstance(value, str) and value:
            setattr(person, attr, value)
    # Every launch has its own row; last_seen_at only answers "active lately?", so a
    # relaunch within a minute (a reload, back to the course and in again) skips the write.
    if person.last_seen_at is None or now - person.last_seen_at >= LAST_SEEN_RESOLUTION:
        person.last_seen_at = now
    if _is_new(person):
        session.flush()  # new rows need their ids below; known rows flush once, at the end

    if isinstance(context, dict) and context_id is not None:  # context_id implies dict
        if course is None:
            course = Course(tenant_id=tenant.id, context_id=context_id)
            session.add(course)
        _set_if_changed(
            course, "label", str(context.get("label") or course.label or "")
        )
        _set_if_changed(
            course, "title", str(context.get("title") or course.title or "")
        )
        if _is_new(course):
            session.flush()

    lti_roles = [r for r in claims.get(CLAIM_ROLES, []) if isinstance(r, str)]
    role = map_lti_roles(lti_roles)
    if course is not None:
        if enrolment is None:
            session.add(Enrolment(person_id=person.id, course_id=course.id, role=role))
        else:
            _set_if_changed(enrolment, "role", role)

    message_type = str(claims[CLAIM_MESSAGE_TYPE])
    custom = (
        claims.get(CLAIM_CUSTOM) if isinstance(claims.get(CLAIM_CUSTOM), dict) else {}
    )
    if isinstance(link_claim, dict) and link_id is not None:  # link_id implies dict
        if resource_link is None:
            resource_link = ResourceLink(tenant_id=tenant.id, resource_link_id=link_id)
            session.add(resource_link)
        # A whole class launches the same link: write it only when something changed,
        # or every launch would queue on this one row's lock.
        if course is not None:
            _set_if_changed(resource_link, "course_id", course.id)
        _set_if_changed(
            resource_link,
            "title",
            str(link_claim.get("title") or resource_link.title or ""),
        )
        if isinstance(claims.get(CLAIM_AGS), dict):
            _set_if_changed(resource_link, "ags_endpoint", claims[CLAIM_AGS])
        if isinstance(claims.get(CLAIM_NRPS), dict):
            _set_if_changed(resource_link, "nrps_endpoint", claims[CLAIM_NRPS])
        module_ref = (custom or {}).get("pathwise_module")
        if resource_link.module_id is None and module_ref:
            resource_link.module_id = _resolve_module_id(
                session, tenant.id, str(module_ref)
            )
        if _is_new(resource_link):
            session.flush()

    launch = Launch(
        tenant_id=tenant.id,
        person_id=person.id,
        course_id=course.id if course else None,
        resource_link_pk=resource_link.id if resource_link else None,
        role=role,
        lti_roles=lti_roles,
        message_type=message_type,
        custom=dict(custom or {}),
    )
    session.add(launch)
    session.flush()
    return LaunchOutcome(
        launch=launch,
        person=person,
        tenant=tenant,
        registration=registration,
        course=course,
        resource_link=resource_link,
        role=role,
        message_type=message_type,
        claims=claims,
    )


def complete_launch(
    session: Session,
    *,
    registration: Registration,
    tenant: Deployment,
    claims: dict[str, Any],
    lrs_pull_budget_s: float,
) -> LaunchOutcome:
    """Record a validated launch; for a learner, bring in their newest LRS statements.

    The pull is bounded by ``lrs_pull_budget_s`` and continues in the background, so
    the landing page decides on what the organisation already knows about them.
    """
    outcome = record_launch(
        session, registration=registration, tenant=tenant, claims=claims
    )
    if outcome.role == ROLE_LEARNER:
        pull_at_launch(session, person_id=outcome.person.id, budget_s=lrs_pull_budget_s)
    return outcome


def _is_new(row: Any) -> bool:
    """Added in this session and not flushed yet: it has no id to refer to."""
    return bool(inspect(row).pending)


def _set_if_changed(row: Any, attribute: str, value: Any) -> None:
    if getattr(row, attribute) != value:
        setattr(row, attribute, value)


def _resolve_module_id(session: Session, tenant_id: int, ref: str) -> int | None:
    """A module named by id or key in the tenant's catalogue or the shared one."""
    from adaptive.models import Framework, Module

    query = (
        select(Module.id)
        .join(Framework, Framework.id == Module.framework_id)
        .where((Framework.tenant_id == tenant_id) | Framework.tenant_id.is_(None))
    )
    if ref.isdigit():
        return session.scalar(query.where(Module.id == int(ref)))
    return session.scalar(query.where(Module.key == ref))


# -------------------------------------------------------------- launch token


@dataclass(frozen=True)
class LaunchContext:
    """What a launch token authorises: one person, in one tenant, with one role."""

    launch_id: int
    person_id: int
    tenant_id: int
    role: str
    expires_at: dt.datetime


def launch_context(
    launch: Launch, *, ttl_s: int, now: float | None = None
) -> LaunchContext:
    """What the token issued for ``launch`` now authorises (no need to decode it back)."""
    moment = int(time.time() if now is None else now)
    return LaunchContext(
        launch_id=launch.id,
        person_id=launch.person_id,
        tenant_id=launch.tenant_id,
        role=launch.role,
        expires_at=dt.datetime.fromtimestamp(moment + ttl_s, dt.UTC),
    )


def issue_launch_token(
    *, secret_key: str, ttl_s: int, launch: Launch, now: float | None = None
) -> str:
    moment = int(time.time() if now is None else now)
    payload = {
        "lid": launch.id,
        "pid": launch.person_id,
        "tid": launch.tenant_id,
        "role": launch.role,
        "iat": moment,
        "exp": moment + ttl_s,
        "typ": "pathwise-launch",
    }
    return jwt.encode(payload, secret_key, algorithm="HS256")


def read_launch_token(*, secret_key: str, token: str) -> LaunchContext:
    """Verify a launch token; raise LaunchRejected (401) when it is bad or expired."""
    try:
        payload = jwt.decode(token, secret_key, algorithms=["HS256"])
    except jwt.ExpiredSignatureError:
        raise LaunchRejected(
            "launch_expired",
            "Your session has expired: open Pathwise again from the LMS.",
            401,
        ) from None
    except jwt.InvalidTokenError:
        raise LaunchRejected(
            "bad_launch_token", "This link is not valid.", 401
        ) from None
    if payload.get("typ") != "pathwise-launch":
        raise LaunchRejected("bad_launch_token", "This link is not valid.", 401)
    return LaunchContext(
        launch_id=int(payload["lid"]),
        person_id=int(payload["pid"]),
        tenant_id=int(payload["tid"]),
        role=str(payload["role"]),
        expires_at=dt.datetime.fromtimestamp(int(payload["exp"]), dt.UTC),
    )
