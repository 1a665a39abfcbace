"""Development LMS (web + in-memory state): LTI 1.3 platform side, for demo and tests.

It plays an LMS for real: its own RSA key and JWKS, OIDC authorisation with
Moodle's exact-redirect rule, signed id_tokens, an OAuth2 token endpoint that
verifies the tool's client assertion against the tool's JWKS, AGS and NRPS
endpoints that enforce Moodle's rules, and a Deep Linking return that verifies
the tool's signed response. It reaches the tool only over HTTP and LTI, so a
test against it exercises the tool as an LMS would. Its state lives in memory:
it stands in for someone else's LMS and is not part of the product.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard
from urllib.parse import urlencode

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    jsonify,
    render_template,
    request,
)
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_tool.infra.config import Settings
from lti_tool.infra.models import Deployment, Registration

# ------------------------------------------------------------------ vocabulary

LTI_VERSION = "1.3.0"
CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
CLAIM_MESSAGE_TYPE = CLAIM + "message_type"
CLAIM_VERSION = CLAIM + "version"
CLAIM_DEPLOYMENT_ID = CLAIM + "deployment_id"
CLAIM_TARGET_LINK_URI = CLAIM + "target_link_uri"
CLAIM_RESOURCE_LINK = CLAIM + "resource_link"
CLAIM_ROLES = CLAIM + "roles"
CLAIM_CONTEXT = CLAIM + "context"
CLAIM_CUSTOM = CLAIM + "custom"
CLAIM_TOOL_PLATFORM = CLAIM + "tool_platform"
CLAIM_LAUNCH_PRESENTATION = CLAIM + "launch_presentation"
CLAIM_LIS = CLAIM + "lis"
CLAIM_AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
CLAIM_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
CLAIM_DL_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
CLAIM_DL_CONTENT_ITEMS = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"
CLAIM_DL_DATA = "https://purl.imsglobal.org/spec/lti-dl/claim/data"
CLAIM_DL_MSG = "https://purl.imsglobal.org/spec/lti-dl/claim/msg"
CLAIM_DL_LOG = "https://purl.imsglobal.org/spec/lti-dl/claim/log"

MESSAGE_RESOURCE_LINK = "LtiResourceLinkRequest"
MESSAGE_DEEP_LINKING = "LtiDeepLinkingRequest"
MESSAGE_DEEP_LINKING_RESPONSE = "LtiDeepLinkingResponse"

ROLE_LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
ROLE_INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
ROLE_MEMBERSHIP_ADMIN = (
    "http://purl.imsglobal.org/vocab/lis/v2/membership#Administrator"
)
ROLE_STUDENT = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student"
ROLE_FACULTY = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Faculty"
ROLE_INSTITUTION_ADMIN = (
    "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"
)
ROLE_SYSTEM_ADMIN = "http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator"

SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_LINEITEM_READONLY = (
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
)
SCOPE_RESULT_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
AGS_SCOPES = (
    SCOPE_LINEITEM,
    SCOPE_LINEITEM_READONLY,
    SCOPE_RESULT_READONLY,
    SCOPE_SCORE,
)
ALL_SCOPES = (*AGS_SCOPES, SCOPE_NRPS)

MEDIA_SCORE = "application/vnd.ims.lis.v1.score+json"
MEDIA_LINEITEM = "application/vnd.ims.lis.v2.lineitem+json"
MEDIA_LINEITEMS = "application/vnd.ims.lis.v2.lineitemcontainer+json"
MEDIA_RESULTS = "application/vnd.ims.lis.v2.resultcontainer+json"
MEDIA_MEMBERSHIPS = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ACTIVITY_PROGRESS = ("Initialized", "Started", "InProgress", "Submitted", "Completed")
GRADING_PROGRESS = ("FullyGraded", "Pending", "PendingManual", "Failed", "NotReady")

STORAGE_TARGET = "post_message_forwarding"
DEMO_COURSE_ID = "dev-course-101"
# (link id, title, demo module key): keys of lti_tool/demo/ai_readiness.json.
DEMO_LINKS: tuple[tuple[str, str, str | None], ...] = (
    ("dev-link-ai-everyone", "AI readiness for everyone", "ai-readiness-everyone"),
    ("dev-link-ai-leads", "AI for team leads", "ai-for-team-leads"),
    ("dev-link-open", "Pathwise (no module chosen)", None),
)
DEV_CLIENT_ID = "pathwise-dev-client"
DEV_DEPLOYMENT_ID = "dev-deployment-1"
DEV_PREFIX = "/dev-platform"
KEY_FILE = "devplatform-key.pem"

ID_TOKEN_TTL_S = 300
ACCESS_TOKEN_TTL_S = 3600
PENDING_LAUNCH_TTL_S = 900
JWT_LEEWAY_S = 5


class _Drop:
    """Marker for an override that removes a claim or header instead of setting it."""

    def __repr__(self) -> str:
        return "DROP"


DROP: Any = _Drop()

# Short names for claims, so tests can say ``roles=[...]`` instead of the claim URI.
SHORT_CLAIMS = {
    "message_type": CLAIM_MESSAGE_TYPE,
    "version": CLAIM_VERSION,
    "deployment_id": CLAIM_DEPLOYMENT_ID,
    "target_link_uri": CLAIM_TARGET_LINK_URI,
    "resource_link": CLAIM_RESOURCE_LINK,
    "roles": CLAIM_ROLES,
    "context": CLAIM_CONTEXT,
    "custom": CLAIM_CUSTOM,
    "tool_platform": CLAIM_TOOL_PLATFORM,
    "launch_presentation": CLAIM_LAUNCH_PRESENTATION,
    "lis": CLAIM_LIS,
    "ags": CLAIM_AGS,
    "nrps": CLAIM_NRPS,
    "deep_linking_settings": CLAIM_DL_SETTINGS,
}


def claim_overrides(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Short-named overrides (plus a ``claims`` mapping) as claim names to values.

    Lets a launch override any claim, ``nonce`` and ``message_type`` included.
    """
    resolved = {
        SHORT_CLAIMS.get(k, k): v for k, v in overrides.items() if k != "claims"
    }
    resolved.update(overrides.get("claims") or {})
    return resolved


# ---------------------------------------------------------------------- errors


class PlatformError(Exception):
    """A refused request: a machine-readable ``code`` and an HTTP ``status``."""

    def __init__(self, code: str, description: str, status: int = 400) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description
        self.status = status


class AuthorizationError(PlatformError):
    """The tool's OIDC authentication request breaks the spec (or Moodle's rules)."""


class OAuthError(PlatformError):
    """RFC 6749 token endpoint error (``code`` is the OAuth ``error`` value)."""


class ServiceError(PlatformError):
    """An AGS/NRPS request refused (401/403 for tokens, 400/404/409/415 for content)."""


class DeepLinkError(PlatformError):
    """The tool's LtiDeepLinkingResponse could not be accepted."""


# ---------------------------------------------------------------------- model


@dataclass(frozen=True)
class SampleUser:
    """A person of the dev LMS, with what an LMS would tell a tool about them."""

    sub: str
    name: str
    given_name: str
    family_name: str
    email: str
    roles: tuple[str, ...]
    label: str

    def personal_claims(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "given_name": self.given_name,
            "family_name": self.family_name,
            "email": self.email,
        }


LEARNER = SampleUser(
    sub="dev-user-ada",
    name="Ada Lovelace",
    given_name="Ada",
    family_name="Lovelace",
    email="ada.lovelace@example.com",
    roles=(ROLE_LEARNER, ROLE_STUDENT),
    label="learner",
)
INSTRUCTOR = SampleUser(
    sub="dev-user-grace",
    name="Grace Hopper",
    given_name="Grace",
    family_name="Hopper",
    email="grace.hopper@example.com",
    roles=(ROLE_INSTRUCTOR, ROLE_FACULTY),
    label="instructor",
)
ADMIN = SampleUser(
    sub="dev-user-admin",
    name="Alan Turing",
    given_name="Alan",
    family_name="Turing",
    email="alan.turing@example.com",
    roles=(ROLE_SYSTEM_ADMIN, ROLE_INSTITUTION_ADMIN, ROLE_INSTRUCTOR),
    label="admin",
)
SAMPLE_USERS: dict[str, SampleUser] = {u.label: u for u in (LEARNER, INSTRUCTOR, ADMIN)}


@dataclass(frozen=True)
class ToolConfig:
    """What the LMS admin typed in when registering the tool (one client_id each)."""

    client_id: str
    deployment_id: str
    login_url: str
    redirect_uris: tuple[str, ...]
    jwks_url: str
    launch_url: str
    deep_link_url: str
    name: str = "Pathwise"

    @classmethod
    def for_tool_base(
        cls,
        base_url: str,
        *,
        client_id: str = DEV_CLIENT_ID,
        deployment_id: str = DEV_DEPLOYMENT_ID,
        extra_redirect_uris: Iterable[str] = (),
    ) -> ToolConfig:
        """The registration of a Pathwise served at ``base_url`` (fixed LTI paths)."""
        base = base_url.rstrip("/")
        return cls(
            client_id=client_id,
            deployment_id=deployment_id,
            login_url=base + "/lti/login",
            redirect_uris=(base + "/lti/launch", *extra_redirect_uris),
            jwks_url=base + "/lti/jwks",
            launch_url=base + "/lti/launch",
            deep_link_url=base + "/lti/launch",
        )


@dataclass
class CourseLink:
    """A resource link: the tool placed in a course, optionally bound to a line item."""

    id: str
    title: str
    context_id: str
    custom: dict[str, str] = field(default_factory=dict)
    lineitem_id: int | None = None
    url: str | None = None


@dataclass
class DevCourse:
    """An LMS course (LTI context) with its roster."""

    id: str
    label: str
    title: str
    member_subs: list[str] = field(default_factory=list)


@dataclass
class LineItem:
    id: int
    context_id: str
    label: str
    score_maximum: float
    resource_link_id: str | None = None
    resource_id: str | None = None
    tag: str | None = None
    start_date_time: str | None = None
    end_date_time: str | None = None


@dataclass(frozen=True)
class ScoreRecord:
    """A score as received; ``score_given`` is None when Moodle would ignore it."""

    lineitem_id: int
    user_id: str
    timestamp: str
    timestamp_s: int
    activity_progress: str
    grading_progress: str
    score_given: float | None
    score_maximum: float | None
    comment: str | None
    received_at: float


@dataclass(frozen=True)
class AccessGrant:
    token: str
    client_id: str
    scopes: frozenset[str]
    expires_at: float


@dataclass
class PendingLaunch:
    """A launch the platform started: what it signs once the tool asks (OIDC)."""

    hint: str
    user_sub: str
    message_type: str
    client_id: str
    deployment_id: str
    resource_link_id: str | None
    target_link_uri: str
    claims: dict[str, Any]
    headers: dict[str, Any]
    signing_key: rsa.RSAPrivateKey | None
    created_at: float
    dl_data: str | None = None


@dataclass(frozen=True)
class LoginInitiation:
    """Third-party-initiated login: what the browser sends to the tool's login URL."""

    login_url: str
    params: dict[str, str]

    @property
    def url(self) -> str:
        separator = "&" if "?" in self.login_url else "?"
        return self.login_url + separator + urlencode(self.params)


@dataclass(frozen=True)
class AuthResponse:
    """The authentication response: an auto-submitting form posting the id_token."""

    redirect_uri: str
    id_token: str
    state: str | None

    @property
    def fields(self) -> dict[str, str]:
        values = {"id_token": self.id_token}
        if self.state is not None:
            values["state"] = self.state
        return values


@dataclass(frozen=True)
class DeepLinkReturn:
    """A verified LtiDeepLinkingResponse and the content items it carried."""

    client_id: str
    deployment_id: str
    content_items: list[dict[str, Any]]
    msg: str | None
    log: str | None
    received_at: float
    created_links: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------ keys


def generate_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def load_or_create_key(path: Path) -> rsa.RSAPrivateKey:
    """The demo platform's key survives restarts: the tool's cached JWKS stays valid."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError(f"{path} does not hold an RSA private key")
        return key
    key = generate_rsa_key()
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.write_bytes(pem)
    path.chmod(0o600)
    return key


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def public_jwk(key: rsa.RSAPrivateKey) -> dict[str, str]:
    """The public half as a JWK, its kid the RFC 7638 thumbprint."""
    numbers = key.public_key().public_numbers()
    core = {"e": _b64url_uint(numbers.e), "kty": "RSA", "n": _b64url_uint(numbers.n)}
    digest = hashlib.sha256(
        json.dumps(core, separators=(",", ":"), sort_keys=True).encode()
    )
    kid = base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode("ascii")
    return {**core, "kid": kid, "alg": "RS256", "use": "sig"}


def fetch_json_over_http(url: str) -> dict[str, Any]:
    """Fetch a JSON document (the tool's JWKS) with a bounded wait."""
    response = requests.get(url, timeout=10, headers={"Accept": "application/json"})
    response.raise_for_status()
    data = response.json()
    if not isinstance(data, dict):
        raise ValueError(f"{url} did not return a JSON object")
    return data


def _parse_timestamp(value: Any) -> dt.datetime:
    if not isinstance(value, str) or not value:
        raise ValueError("timestamp must be an ISO 8601 string")
    moment = dt.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("timestamp must carry a time zone")
    return moment


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


# -------------------------------------------------------------------- platform


class DevPlatform:
    """An LTI 1.3 platform with in-memory state; thread-safe for a threaded HTTP server.

    Args:
        issuer: its ``iss``, also the base URL of ``/auth``, ``/token``, ...
        key: its signing key (generated when omitted).
        fetch_json: how it fetches the tool's JWKS (HTTP by default).
        clock: seconds since the epoch (tests may pin it).
    """

    def __init__(
        self,
        issuer: str,
        *,
        key: rsa.RSAPrivateKey | None = None,
        fetch_json: Callable[[str], dict[str, Any]] = fetch_json_over_http,
        clock: Callable[[], float] = time.time,
        name: str = "Pathwise development LMS",
        product_family_code: str = "moodle",
        seed: bool = True,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.name = name
        self.product_family_code = product_family_code
        self.fetch_json = fetch_json
        self.clock = clock
        self._keys: list[rsa.RSAPrivateKey] = [key or generate_rsa_key()]
        self._lock = threading.RLock()
        self.tools: dict[str, ToolConfig] = {}
        self.users: dict[str, SampleUser] = {u.sub: u for u in SAMPLE_USERS.values()}
        self.courses: dict[str, DevCourse] = {}
        self.links: dict[str, CourseLink] = {}
        self.lineitems: dict[int, LineItem] = {}
        self.scores: list[ScoreRecord] = []
        self.deep_link_returns: list[DeepLinkReturn] = []
        self._pending: dict[str, PendingLaunch] = {}
        self._tokens: dict[str, AccessGrant] = {}
        self._used_jti: dict[str, float] = {}
        self._used_dl_nonces: dict[str, float] = {}
        self._dl_data: dict[str, str] = {}
        self._tool_jwks: dict[str, dict[str, Any]] = {}
        self._next_lineitem = 1
        if seed:
            self.seed_demo_course()

    # ----------------------------------------------------------- endpoints

    @property
    def auth_url(self) -> str:
        return self.issuer + "/auth"

    @property
    def token_url(self) -> str:
        return self.issuer + "/token"

    @property
    def jwks_url(self) -> str:
        return self.issuer + "/jwks"

    @property
    def deep_link_return_url(self) -> str:
        return self.issuer + "/deep-link-return"

    def lineitems_url(self, context_id: str) -> str:
        return f"{self.issuer}/ags/{context_id}/lineitems"

    def lineitem_url(self, item: LineItem) -> str:
        return f"{self.lineitems_url(item.context_id)}/{item.id}"

    def memberships_url(self, context_id: str) -> str:
        return f"{self.issuer}/nrps/{context_id}/memberships"

    # ------------------------------------------------------------ set-up

    def seed_demo_course(self) -> None:
        """One course with the three sample users and links to the demo catalogue."""
        course = self.add_course(
            DEMO_COURSE_ID,
            label="AI-101",
            title="AI at Work",
            members=[u.sub for u in SAMPLE_USERS.values()],
        )
        for link_id, title, module_key in DEMO_LINKS:
            self.add_link(
                course.id,
                link_id,
                title,
                custom={"pathwise_module": module_key} if module_key else None,
                with_lineitem=module_key is not None,
            )

    def add_tool(self, tool: ToolConfig) -> ToolConfig:
        with self._lock:
            self.tools[tool.client_id] = tool
        return tool

    @property
    def tool(self) -> ToolConfig:
        """The first registered tool (most platforms here have one)."""
        if not self.tools:
            raise LookupError("no tool is registered with this platform")
        return next(iter(self.tools.values()))

    def add_user(self, user: SampleUser, *, course_id: str | None = None) -> SampleUser:
        with self._lock:
            self.users[user.sub] = user
            if course_id is not None:
                self.courses[course_id].member_subs.append(user.sub)
        return user

    def add_course(
        self, course_id: str, *, label: str, title: str, members: Iterable[str] = ()
    ) -> DevCourse:
        with self._lock:
            course = DevCourse(
                id=course_id, label=label, title=title, member_subs=list(members)
            )
            self.courses[course_id] = course
        return course

    def add_link(
        self,
        context_id: str,
        link_id: str,
        title: str,
        *,
        custom: Mapping[str, str] | None = None,
        with_lineitem: bool = True,
        score_maximum: float = 100.0,
    ) -> CourseLink:
        """Place the tool in a course; as in Moodle a graded link has its line item."""
        with self._lock:
            link = CourseLink(
                id=link_id,
                title=title,
                context_id=context_id,
                custom=dict(custom or {}),
            )
            if with_lineitem:
                item = self._new_lineitem(
                    context_id,
                    label=title,
                    score_maximum=score_maximum,
                    resource_link_id=link_id,
                )
                link.lineitem_id = item.id
            self.links[link_id] = link
        return link

    def _new_lineitem(self, context_id: str, **fields: Any) -> LineItem:
        item = LineItem(id=self._next_lineitem, context_id=context_id, **fields)
        self._next_lineitem += 1
        self.lineitems[item.id] = item
        return item

    # -------------------------------------------------------------- keys

    @property
    def signing_key(self) -> rsa.RSAPrivateKey:
        return self._keys[-1]

    @property
    def kid(self) -> str:
        return public_jwk(self.signing_key)["kid"]

    def rotate_key(self, key: rsa.RSAPrivateKey | None = None) -> str:
        """Sign with a new key (returning its kid); the old one stays in the JWKS."""
        with self._lock:
            self._keys.append(key or generate_rsa_key())
        return self.kid

    def jwks(self) -> dict[str, Any]:
        return {"keys": [public_jwk(k) for k in self._keys]}

    def sign(
        self,
        claims: Mapping[str, Any],
        *,
        headers: Mapping[str, Any] | None = None,
        key: rsa.RSAPrivateKey | None = None,
        algorithm: str = "RS256",
    ) -> str:
        """Sign any payload; ``headers`` may change or DROP ``kid`` (for tests)."""
        signer = key or self.signing_key
        header: dict[str, Any] = {
            "kid": public_jwk(self.signing_key)["kid"],
            "typ": "JWT",
        }
        for name, value in (headers or {}).items():
            if value is DROP:
                header.pop(name, None)
            else:
                header[name] = value
        return jwt.encode(dict(claims), signer, algorithm=algorithm, headers=header)

    # ------------------------------------------------------------- login

    def login_initiation(
        self,
        tool_login_url: str,
        target_link_uri: str,
        login_hint: str,
        message_hint: str | None,
        *,
        client_id: str | None = None,
        deployment_id: str | None = None,
        storage_target: str | None = None,
    ) -> LoginInitiation:
        """Third-party-initiated login parameters, sent by the browser to the tool."""
        tool = self.tools[client_id] if client_id else self.tool
        params = {
            "iss": self.issuer,
            "login_hint": login_hint,
            "target_link_uri": target_link_uri,
            "client_id": tool.client_id,
            "lti_deployment_id": deployment_id or tool.deployment_id,
        }
        if message_hint is not None:
            params["lti_message_hint"] = message_hint
        if storage_target:
            params["lti_storage_target"] = storage_target
        return LoginInitiation(login_url=tool_login_url, params=params)

    def start_launch(
        self,
        user: SampleUser | str,
        *,
        message_type: str = MESSAGE_RESOURCE_LINK,
        link_id: str | None = None,
        client_id: str | None = None,
        deployment_id: str | None = None,
        storage_target: str | None = None,
        target_link_uri: str | None = None,
        login_hint: str | None = None,
        headers: Mapping[str, Any] | None = None,
        signing_key: rsa.RSAPrivateKey | None = None,
        **overrides: Any,
    ) -> LoginInitiation:
        """Begin a launch as ``user``, kept under a message hint; return the login.

        ``overrides`` and ``headers`` are applied to the id_token when the tool
        asks for it (see :meth:`make_id_token`).
        """
        person = self._user(user)
        tool = self.tools[client_id] if client_id else self.tool
        if deployment_id is DROP:
            # No deployment_id claim; the login still names the tool's deployment.
            overrides = {**overrides, "deployment_id": DROP}
            deployment_id = None
        if message_type == MESSAGE_RESOURCE_LINK and link_id is None:
            link_id = next(iter(self.links))
        if target_link_uri is None:
            target_link_uri = (
                tool.deep_link_url
                if message_type == MESSAGE_DEEP_LINKING
                else tool.launch_url
            )
        hint = "msg-" + secrets.token_urlsafe(16)
        pending = PendingLaunch(
            hint=hint,
            user_sub=person.sub,
            message_type=message_type,
            client_id=tool.client_id,
            deployment_id=deployment_id or tool.deployment_id,
            resource_link_id=link_id if message_type == MESSAGE_RESOURCE_LINK else None,
            target_link_uri=target_link_uri,
            claims=claim_overrides(overrides),
            headers=dict(headers or {}),
            signing_key=signing_key,
            created_at=self.clock(),
        )
        with self._lock:
            self._pending[hint] = pending
        return self.login_initiation(
            tool.login_url,
            target_link_uri,
            login_hint if login_hint is not None else person.sub,
            hint,
            client_id=tool.client_id,
            deployment_id=pending.deployment_id,
            storage_target=storage_target,
        )

    def authorize(self, params: Mapping[str, str]) -> AuthResponse:
        """Check the tool's OIDC auth request; answer with a signed id_token.

        Raises AuthorizationError with an OIDC error code; ``invalid_redirect_uri``
        (not registered exactly, as Moodle requires) must never redirect anywhere.
        """
        client_id = params.get("client_id") or ""
        tool = self.tools.get(client_id)
        if tool is None:
            raise AuthorizationError(
                "unauthorized_client", f"Unknown client_id {client_id!r}."
            )
        redirect_uri = params.get("redirect_uri") or ""
        if redirect_uri not in tool.redirect_uris:
            raise AuthorizationError(
                "invalid_redirect_uri",
                f"redirect_uri {redirect_uri!r} is not registered exactly.",
            )
        if "openid" not in (params.get("scope") or "").split():
            raise AuthorizationError("invalid_scope", "scope must be openid.")
        if params.get("response_type") != "id_token":
            raise AuthorizationError(
                "unsupported_response_type", "response_type must be id_token."
            )
        if params.get("response_mode") != "form_post":
            raise AuthorizationError(
                "invalid_request", "response_mode must be form_post."
            )
        if params.get("prompt") != "none":
            raise AuthorizationError("invalid_request", "prompt must be none.")
        nonce = params.get("nonce") or ""
        if not nonce:
            raise AuthorizationError("invalid_request", "nonce is required.")
        hint = params.get("lti_message_hint") or ""
        with self._lock:
            pending = self._pending.get(hint)
        if pending is None or self.clock() - pending.created_at > PENDING_LAUNCH_TTL_S:
            raise AuthorizationError(
                "invalid_request", "lti_message_hint is unknown or expired."
            )
        if pending.client_id != client_id:
            raise AuthorizationError(
                "invalid_request", "client_id does not match the launch."
            )
        if (params.get("login_hint") or "") != pending.user_sub:
            raise AuthorizationError(
                "login_required", "login_hint does not match the user."
            )
        id_token = self.make_id_token(
            pending.user_sub,
            pending.message_type,
            nonce,
            client_id=pending.client_id,
            deployment_id=pending.deployment_id,
            link_id=pending.resource_link_id,
            target_link_uri=pending.target_link_uri,
            headers=pending.headers,
            signing_key=pending.signing_key,
            claims=pending.claims,
        )
        return AuthResponse(
            redirect_uri=redirect_uri, id_token=id_token, state=params.get("state")
        )

    # ----------------------------------------------------------- id_token

    def id_token_claims(
        self,
        user: SampleUser | str,
        message_type: str = MESSAGE_RESOURCE_LINK,
        nonce: str = "",
        *,
        client_id: str | None = None,
        deployment_id: str | None = None,
        link_id: str | None = None,
        target_link_uri: str | None = None,
        claims: Mapping[str, Any] | None = None,
        **overrides: Any,
    ) -> dict[str, Any]:
        """Every claim a Moodle-like platform sends, then ``overrides`` and ``claims``.

        ``overrides`` use short names (SHORT_CLAIMS) or claim names, ``claims``
        claim names. A value of DROP removes the claim; others replace it whole.
        """
        person = self._user(user)
        tool = self.tools[client_id] if client_id else self.tool
        now = int(self.clock())
        deep_linking = message_type == MESSAGE_DEEP_LINKING
        body: dict[str, Any] = {
            "iss": self.issuer,
            "aud": tool.client_id,
            "azp": tool.client_id,
            "sub": person.sub,
            "iat": now,
            "exp": now + ID_TOKEN_TTL_S,
            "nonce": nonce or secrets.token_urlsafe(12),
            CLAIM_MESSAGE_TYPE: message_type,
            CLAIM_VERSION: LTI_VERSION,
            CLAIM_DEPLOYMENT_ID: deployment_id or tool.deployment_id,
            CLAIM_TARGET_LINK_URI: target_link_uri
            or (tool.deep_link_url if deep_linking else tool.launch_url),
            CLAIM_ROLES: list(person.roles),
            CLAIM_TOOL_PLATFORM: {
                "guid": hashlib.sha256(self.issuer.encode()).hexdigest()[:32],
                "name": self.name,
                "product_family_code": self.product_family_code,
                "version": "4.4",
            },
            CLAIM_LAUNCH_PRESENTATION: {
                "document_target": "iframe",
                "return_url": self.issuer + "/",
                "locale": "en",
            },
            **person.personal_claims(),
        }
        link = self.links.get(link_id) if link_id else None
        course = (
            self.courses.get(link.context_id)
            if link
            else next(iter(self.courses.values()), None)
        )
        if course is not None:
            body[CLAIM_CONTEXT] = {
                "id": course.id,
                "label": course.label,
                "title": course.title,
                "type": [
                    "http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"
                ],
            }
            body[CLAIM_LIS] = {
                "person_sourcedid": person.sub,
                "course_section_sourcedid": course.id,
            }
            body[CLAIM_NRPS] = {
                "context_memberships_url": self.memberships_url(course.id),
                "service_versions": ["2.0"],
            }
            ags: dict[str, Any] = {
                "scope": list(AGS_SCOPES),
                "lineitems": self.lineitems_url(course.id),
            }
            if link is not None and link.lineitem_id is not None:
                ags["lineitem"] = self.lineitem_url(self.lineitems[link.lineitem_id])
            body[CLAIM_AGS] = ags
        if deep_linking:
            data = "dl-" + secrets.token_urlsafe(12)
            with self._lock:
                self._dl_data[data] = tool.client_id
            body[CLAIM_DL_SETTINGS] = {
                "deep_link_return_url": self.deep_link_return_url,
                "accept_types": ["ltiResourceLink"],
                "accept_presentation_document_targets": ["iframe", "window"],
                "accept_multiple": True,
                "auto_create": True,
                "title": "Add Pathwise to the course",
                "data": data,
            }
        elif link is not None:
            body[CLAIM_RESOURCE_LINK] = {"id": link.id, "title": link.title}
            body[CLAIM_CUSTOM] = {"lms": "pathwise-dev-platform", **link.custom}
        for name, value in overrides.items():
            self._apply(body, SHORT_CLAIMS.get(name, name), value)
        for name, value in (claims or {}).items():
            self._apply(body, name, value)
        return body

    def make_id_token(
        self,
        user: SampleUser | str,
        message_type: str = MESSAGE_RESOURCE_LINK,
        nonce: str = "",
        *,
        headers: Mapping[str, Any] | None = None,
        signing_key: rsa.RSAPrivateKey | None = None,
        algorithm: str = "RS256",
        **overrides: Any,
    ) -> str:
        """A signed id_token for ``user``; see :meth:`id_token_claims` for overrides.

        ``headers`` may alter or DROP header fields (``kid``); ``signing_key`` signs
        with another key while keeping the platform's kid (a bad signature).
        """
        body = self.id_token_claims(user, message_type, nonce, **overrides)
        return self.sign(body, headers=headers, key=signing_key, algorithm=algorithm)

    @staticmethod
    def _apply(body: dict[str, Any], name: str, value: Any) -> None:
        if value is DROP:
            body.pop(name, None)
        else:
            body[name] = copy.deepcopy(value)

    def _user(self, user: SampleUser | str) -> SampleUser:
        if isinstance(user, SampleUser):
            return user
        found = SAMPLE_USERS.get(user) or self.users.get(user)
        if found is None:
            raise LookupError(f"unknown user {user!r}")
        return found

    # ------------------------------------------------ verifying tool JWTs

    def _tool_key(self, tool: ToolConfig, kid: str) -> Any:
        """The tool's public key for ``kid``; refetch its JWKS once for a new kid."""
        for attempt in range(2):
            with self._lock:
                cached = self._tool_jwks.get(tool.client_id)
            if cached is None or attempt == 1:
                cached = self.fetch_json(tool.jwks_url)
                with self._lock:
                    self._tool_jwks[tool.client_id] = cached
            for jwk in cached.get("keys", []):
                if isinstance(jwk, dict) and jwk.get("kid") == kid:
                    return jwt.PyJWK(jwk, algorithm="RS256").key
        return None

    def _verify_tool_jwt(
        self,
        token: str,
        tool: ToolConfig,
        *,
        audience: str,
        required: Iterable[str],
        error: type[PlatformError],
        code: str,
        status: int = 400,
    ) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise error(code, f"Not a JWT: {exc}.", status) from None
        if header.get("alg") != "RS256":
            raise error(code, "The JWT must be signed with RS256.", status)
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise error(code, "The JWT header has no kid.", status)
        try:
            key = self._tool_key(tool, kid)
        except (requests.RequestException, ValueError) as exc:
            raise error(
                code, f"The tool's JWKS could not be fetched: {exc}.", status
            ) from None
        if key is None:
            raise error(code, f"kid {kid!r} is not in the tool's JWKS.", status)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                audience=audience,
                leeway=JWT_LEEWAY_S,
                options={"require": list(required)},
            )
        except jwt.PyJWTError as exc:
            raise error(code, f"The JWT was refused: {exc}.", status) from None
        return claims

    # -------------------------------------------------------------- token

    def issue_access_token(self, form: Mapping[str, str]) -> dict[str, Any]:
        """OAuth2 client_credentials with a JWT client assertion (LTI security)."""
        if form.get("grant_type") != "client_credentials":
            raise OAuthError(
                "unsupported_grant_type", "grant_type must be client_credentials."
            )
        if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
            raise OAuthError(
                "invalid_request",
                f"client_assertion_type must be {CLIENT_ASSERTION_TYPE}.",
            )
        assertion = form.get("client_assertion") or ""
        if not assertion:
            raise OAuthError("invalid_request", "client_assertion is required.")
        try:
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise OAuthError(
                "invalid_client", f"client_assertion is not a JWT: {exc}.", 401
            ) from None
        client_id = unverified.get("iss")
        tool = self.tools.get(client_id) if isinstance(client_id, str) else None
        if tool is None:
            raise OAuthError(
                "invalid_client", "client_assertion iss is not a known client_id.", 401
            )
        claims = self._verify_tool_jwt(
            assertion,
            tool,
            audience=self.token_url,
            required=("iss", "sub", "aud", "exp", "iat", "jti"),
            error=OAuthError,
            code="invalid_client",
            status=401,
        )
        if claims.get("sub") != tool.client_id:
            raise OAuthError(
                "invalid_client",
                "client_assertion sub must equal iss (the client_id).",
                401,
            )
        jti = str(claims["jti"])
        now = self.clock()
        with self._lock:
            self._used_jti = {k: v for k, v in self._used_jti.items() if v > now}
            if jti in self._used_jti:
                raise OAuthError(
                    "invalid_client", "client_assertion jti was already used.", 401
                )
            self._used_jti[jti] = float(claims["exp"]) + JWT_LEEWAY_S
        requested = set((form.get("scope") or "").split())
        if not requested:
            raise OAuthError("invalid_scope", "scope is required.")
        unknown = requested - set(ALL_SCOPES)
        if unknown:
            raise OAuthError(
                "invalid_scope", f"Scopes not offered: {' '.join(sorted(unknown))}."
            )
        grant = AccessGrant(
            token="at-" + secrets.token_urlsafe(24),
            client_id=tool.client_id,
            scopes=frozenset(requested),
            expires_at=now + ACCESS_TOKEN_TTL_S,
        )
        with self._lock:
            self._tokens[grant.token] = grant
        return {
            "access_token": grant.token,
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_TTL_S,
            "scope": " ".join(sorted(grant.scopes)),
        }

    def check_access(
        self, authorization: str | None, allowed: Iterable[str]
    ) -> AccessGrant:
        """The grant behind a ``Bearer`` header holding one of ``allowed`` scopes."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ServiceError(
                "unauthorized", "A Bearer access token is required.", 401
            )
        with self._lock:
            grant = self._tokens.get(token.strip())
        if grant is None or grant.expires_at <= self.clock():
            raise ServiceError(
                "unauthorized", "The access token is unknown or expired.", 401
            )
        if not grant.scopes & set(allowed):
            raise ServiceError(
                "forbidden", "The access token lacks the scope for this service.", 403
            )
        return grant

    # --------------------------------------------------------------- AGS

    def _course(self, context_id: str) -> DevCourse:
        course = self.courses.get(context_id)
        if course is None:
            raise ServiceError("not_found", f"No course {context_id!r}.", 404)
        return course

    def _lineitem(self, context_id: str, item_id: int) -> LineItem:
        item = self.lineitems.get(item_id)
        if item is None or item.context_id != context_id:
            raise ServiceError(
                "not_found", f"No line item {item_id} in {context_id!r}.", 404
            )
        return item

    def lineitem_json(self, item: LineItem) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.lineitem_url(item),
            "label": item.label,
            "scoreMaximum": item.score_maximum,
        }
        optional = {
            "resourceLinkId": item.resource_link_id,
            "resourceId": item.resource_id,
            "tag": item.tag,
            "startDateTime": item.start_date_time,
            "endDateTime": item.end_date_time,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        return body

    def list_lineitems(
        self,
        context_id: str,
        *,
        resource_link_id: str | None = None,
        resource_id: str | None = None,
        tag: str | None = None,
    ) -> list[dict[str, Any]]:
        self._course(context_id)
        with self._lock:
            items = [i for i in self.lineitems.values() if i.context_id == context_id]
        if resource_link_id is not None:
            items = [i for i in items if i.resource_link_id == resource_link_id]
        if resource_id is not None:
            items = [i for i in items if i.resource_id == resource_id]
        if tag is not None:
            items = [i for i in items if i.tag == tag]
        return [self.lineitem_json(i) for i in items]

    def _lineitem_fields(self, context_id: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ServiceError(
                "invalid_request", "The line item must be a JSON object."
            )
        label = body.get("label")
        if not isinstance(label, str) or not label.strip():
            raise ServiceError("invalid_request", "label is required.")
        maximum = body.get("scoreMaximum")
        if not _is_number(maximum) or maximum <= 0:
            raise ServiceError(
                "invalid_request", "scoreMaximum must be a number above 0."
            )
        link_id = body.get("resourceLinkId")
        if link_id is not None:
            link = self.links.get(str(link_id))
            if link is None or link.context_id != context_id:
                raise ServiceError(
                    "invalid_request",
                    f"resourceLinkId {link_id!r} is not in this course.",
                )
        return {
            "label": label,
            "score_maximum": float(maximum),
            "resource_link_id": None if link_id is None else str(link_id),
            "resource_id": body.get("resourceId"),
            "tag": body.get("tag"),
            "start_date_time": body.get("startDateTime"),
            "end_date_time": body.get("endDateTime"),
        }

    def create_lineitem(self, context_id: str, body: Any) -> dict[str, Any]:
        self._course(context_id)
        fields = self._lineitem_fields(context_id, body)
        with self._lock:
            item = self._new_lineitem(context_id, **fields)
        return self.lineitem_json(item)

    def get_lineitem(self, context_id: str, item_id: int) -> dict[str, Any]:
        return self.lineitem_json(self._lineitem(context_id, item_id))

    def update_lineitem(
        self, context_id: str, item_id: int, body: Any
    ) -> dict[str, Any]:
        item = self._lineitem(context_id, item_id)
        fields = self._lineitem_fields(context_id, body)
        with self._lock:
            for name, value in fields.items():
                setattr(item, name, value)
        return self.lineitem_json(item)

    def delete_lineitem(self, context_id: str, item_id: int) -> None:
        item = self._lineitem(context_id, item_id)
        with self._lock:
            del self.lineitems[item.id]
            self.scores = [s for s in self.scores if s.lineitem_id != item.id]

    def post_score(
        self, context_id: str, item_id: int, body: Any, content_type: str | None
    ) -> ScoreRecord:
        """Record a score under Moodle's rules.

        Required fields; scoreGiven only when FullyGraded; 409 unless the timestamp
        is later (whole seconds) than the user's last one on this line item.
        """
        item = self._lineitem(context_id, item_id)
        media = (content_type or "").split(";")[0].strip().lower()
        if media != MEDIA_SCORE:
            raise ServiceError(
                "unsupported_media_type", f"Content-Type must be {MEDIA_SCORE}.", 415
            )
        if not isinstance(body, dict):
            raise ServiceError("invalid_request", "The score must be a JSON object.")
        missing = [
            name
            for name in ("userId", "timestamp", "activityProgress", "gradingProgress")
            if body.get(name) in (None, "")
        ]
        if missing:
            raise ServiceError(
                "invalid_request", f"The score is missing {', '.join(missing)}."
            )
        if body["activityProgress"] not in ACTIVITY_PROGRESS:
            raise ServiceError(
                "invalid_request", "activityProgress is not a known value."
            )
        if body["gradingProgress"] not in GRADING_PROGRESS:
            raise ServiceError(
                "invalid_request", "gradingProgress is not a known value."
            )
        try:
            moment = _parse_timestamp(body["timestamp"])
        except ValueError as exc:
            raise ServiceError("invalid_request", f"Bad timestamp: {exc}.") from None
        user_id = str(body["userId"])
        if user_id not in self._course(context_id).member_subs:
            raise ServiceError(
                "invalid_request", f"User {user_id!r} is not in this course."
            )
        score_given: float | None = None
        score_maximum: float | None = None
        if body.get("scoreGiven") is not None:
            given, maximum = body.get("scoreGiven"), body.get("scoreMaximum")
            if not _is_number(given) or given < 0:
                raise ServiceError(
                    "invalid_request", "scoreGiven must be a number, at least 0."
                )
            if not _is_number(maximum) or maximum <= 0:
                raise ServiceError(
                    "invalid_request", "scoreMaximum is required with scoreGiven."
                )
            if body["gradingProgress"] == "FullyGraded":
                score_given, score_maximum = float(given), float(maximum)
        comment = body.get("comment")
        seconds = int(moment.timestamp())
        with self._lock:
            previous = [
                s
                for s in self.scores
                if s.lineitem_id == item.id and s.user_id == user_id
            ]
            if previous and seconds <= previous[-1].timestamp_s:
                raise ServiceError(
                    "conflict",
                    "The timestamp is not later than this user's last score.",
                    409,
                )
            record = ScoreRecord(
                lineitem_id=item.id,
                user_id=user_id,
                timestamp=str(body["timestamp"]),
                timestamp_s=seconds,
                activity_progress=str(body["activityProgress"]),
                grading_progress=str(body["gradingProgress"]),
                score_given=score_given,
                score_maximum=score_maximum,
                comment=comment if isinstance(comment, str) else None,
                received_at=self.clock(),
            )
            self.scores.append(record)
        return record

    def list_results(
        self, context_id: str, item_id: int, *, user_id: str | None = None
    ) -> list[dict[str, Any]]:
        """The latest result per user, scaled to the line item's maximum (Moodle)."""
        item = self._lineitem(context_id, item_id)
        latest: dict[str, ScoreRecord] = {}
        with self._lock:
            for record in self.scores:
                if record.lineitem_id == item.id:
                    latest[record.user_id] = record
        results = []
        for uid, record in latest.items():
            if user_id is not None and uid != user_id:
                continue
            result: dict[str, Any] = {
                "id": f"{self.lineitem_url(item)}/results/{uid}",
                "scoreOf": self.lineitem_url(item),
                "userId": uid,
                "resultMaximum": item.score_maximum,
            }
            if record.score_given is not None and record.score_maximum:
                result["resultScore"] = (
                    record.score_given / record.score_maximum * item.score_maximum
                )
            if record.comment is not None:
                result["comment"] = record.comment
            results.append(result)
        return results

    # --------------------------------------------------------------- NRPS

    def memberships(
        self, context_id: str, *, role: str | None = None
    ) -> dict[str, Any]:
        course = self._course(context_id)
        members = []
        for sub in course.member_subs:
            user = self.users[sub]
            if role is not None and role not in user.roles:
                continue
            members.append(
                {
                    "status": "Active",
                    "user_id": user.sub,
                    "roles": list(user.roles),
                    **user.personal_claims(),
                }
            )
        return {
            "id": self.memberships_url(course.id),
            "context": {"id": course.id, "label": course.label, "title": course.title},
            "members": members,
        }

    # ------------------------------------------------------- deep linking

    def receive_deep_link_response(self, token: str) -> DeepLinkReturn:
        """Verify the tool's LtiDeepLinkingResponse and add its links to the course."""
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise DeepLinkError(
                "invalid_jwt", f"The response is not a JWT: {exc}."
            ) from None
        client_id = unverified.get("iss")
        tool = self.tools.get(client_id) if isinstance(client_id, str) else None
        if tool is None:
            raise DeepLinkError(
                "unknown_client", "The response's iss is not a known client_id."
            )
        claims = self._verify_tool_jwt(
            token,
            tool,
            audience=self.issuer,
            required=("iss", "aud", "exp", "iat", "nonce"),
            error=DeepLinkError,
            code="invalid_jwt",
        )
        if claims.get(CLAIM_MESSAGE_TYPE) != MESSAGE_DEEP_LINKING_RESPONSE:
            raise DeepLinkError(
                "wrong_message_type", "message_type must be LtiDeepLinkingResponse."
            )
        if claims.get(CLAIM_VERSION) != LTI_VERSION:
            raise DeepLinkError("wrong_version", "version must be 1.3.0.")
        if claims.get(CLAIM_DEPLOYMENT_ID) != tool.deployment_id:
            raise DeepLinkError(
                "wrong_deployment",
                "deployment_id does not match this tool's deployment.",
            )
        nonce = str(claims["nonce"])
        data = claims.get(CLAIM_DL_DATA)
        items = claims.get(CLAIM_DL_CONTENT_ITEMS, [])
        if not isinstance(items, list) or not all(
            isinstance(i, dict) and isinstance(i.get("type"), str) for i in items
        ):
            raise DeepLinkError(
                "invalid_items", "content_items must be a list of typed objects."
            )
        now = self.clock()
        with self._lock:
            if nonce in self._used_dl_nonces:
                raise DeepLinkError(
                    "replayed_nonce", "The response's nonce was already used."
                )
            if data is None or self._dl_data.get(str(data)) != tool.client_id:
                raise DeepLinkError(
                    "bad_data", "The data claim does not echo the request's data."
                )
            self._used_dl_nonces[nonce] = now
            del self._dl_data[str(data)]
        created = [
            self._link_from_item(item)
            for item in items
            if item["type"] == "ltiResourceLink"
        ]
        received = DeepLinkReturn(
            client_id=tool.client_id,
            deployment_id=tool.deployment_id,
            content_items=[dict(i) for i in items],
            msg=claims.get(CLAIM_DL_MSG),
            log=claims.get(CLAIM_DL_LOG),
            received_at=now,
            created_links=created,
        )
        with self._lock:
            self.deep_link_returns.append(received)
        return received

    def _link_from_item(self, item: Mapping[str, Any]) -> str:
        """Create the course link a resource-link item describes (auto_create)."""
        course = next(iter(self.courses.values()))
        link_id = "dl-link-" + secrets.token_hex(6)
        custom = item.get("custom")
        lineitem = item.get("lineItem")
        maximum = lineitem.get("scoreMaximum") if isinstance(lineitem, dict) else None
        link = self.add_link(
            course.id,
            link_id,
            str(item.get("title") or "Pathwise activity"),
            custom={str(k): str(v) for k, v in custom.items()}
            if isinstance(custom, dict)
            else None,
            with_lineitem=isinstance(lineitem, dict),
            score_maximum=float(maximum)
            if _is_number(maximum) and maximum > 0
            else 100.0,
        )
        link.url = item.get("url") if isinstance(item.get("url"), str) else None
        if isinstance(lineitem, dict) and link.lineitem_id is not None:
            stored = self.lineitems[link.lineitem_id]
            stored.tag = (
                lineitem.get("tag") if isinstance(lineitem.get("tag"), str) else None
            )
            stored.resource_id = (
                lineitem.get("resourceId")
                if isinstance(lineitem.get("resourceId"), str)
                else None
            )
            if isinstance(lineitem.get("label"), str):
                stored.label = lineitem["label"]
        return link_id


# --------------------------------------------------------------- for the demo


def dev_platform_issuer(settings: Settings) -> str:
    return settings.base_url.rstrip("/") + DEV_PREFIX


def dev_platform_from_settings(
    settings: Settings,
    *,
    fetch_json: Callable[[str], dict[str, Any]] = fetch_json_over_http,
) -> DevPlatform:
    """The demo's platform: issuer under the tool's base URL, key in the data dir."""
    platform = DevPlatform(
        dev_platform_issuer(settings),
        key=load_or_create_key(Path(settings.data_dir) / KEY_FILE),
        fetch_json=fetch_json,
    )
    platform.add_tool(ToolConfig.for_tool_base(settings.base_url))
    return platform


def ensure_registration(
    session: Session,
    *,
    issuer: str,
    client_id: str,
    deployment_id: str,
    name: str = "Development LMS",
    platform_kind: str = "moodle",
) -> Registration:
    """Create (once) the tool-side Registration and Deployment for a dev platform."""
    registration = session.scalar(
        select(Registration).where(
            Registration.issuer == issuer, Registration.client_id == client_id
        )
    )
    if registration is None:
        registration = Registration(
            name=name,
            platform_kind=platform_kind,
            issuer=issuer,
            client_id=client_id,
            auth_login_url=issuer + "/auth",
            auth_token_url=issuer + "/token",
            key_set_url=issuer + "/jwks",
        )
        session.add(registration)
        session.flush()
    deployment = session.scalar(
        select(Deployment).where(
            Deployment.registration_id == registration.id,
            Deployment.deployment_id == deployment_id,
        )
    )
    if deployment is None:
        session.add(
            Deployment(
                registration_id=registration.id,
                deployment_id=deployment_id,
                name=f"{name} ({deployment_id})",
            )
        )
        session.flush()
    return registration


def ensure_dev_registration(session: Session, settings: Settings) -> Registration:
    """The demo's registration of the dev platform (issuer: base URL + prefix)."""
    return ensure_registration(
        session,
        issuer=dev_platform_issuer(settings),
        client_id=DEV_CLIENT_ID,
        deployment_id=DEV_DEPLOYMENT_ID,
    )


# ------------------------------------------------------------------------- web

EXTENSION = "pathwise.devplatform"
_create_lock = threading.Lock()

bp = Blueprint(
    "devplatform", __name__, url_prefix=DEV_PREFIX, template_folder="templates"
)


@bp.record_once
def _exempt_from_csrf(state: Any) -> None:
    # The tool posts here (token, deep-link return) with signed JWTs, as to any LMS.
    csrf = state.app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(bp)


def _in_process_fetcher(app: Flask, base_url: str) -> Callable[[str], dict[str, Any]]:
    """Fetch the tool's JWKS through the app itself when both share an origin.

    In the demo the platform and the tool are one server; an HTTP call to itself
    from inside a request would deadlock a single-worker server.
    """

    def fetch(url: str) -> dict[str, Any]:
        if not url.startswith(base_url + "/"):
            return fetch_json_over_http(url)
        response = app.test_client().get(url[len(base_url) :])
        if response.status_code != 200:
            raise ValueError(f"{url} answered {response.status_code}")
        data = response.get_json()
        if not isinstance(data, dict):
            raise ValueError(f"{url} did not return a JSON object")
        return data

    return fetch


def current_platform() -> DevPlatform:
    """This app's platform: set by create_platform_app, or built from settings."""
    platform = current_app.extensions.get(EXTENSION)
    if isinstance(platform, DevPlatform):
        return platform
    with _create_lock:
        platform = current_app.extensions.get(EXTENSION)
        if not isinstance(platform, DevPlatform):
            settings: Settings = current_app.extensions["pathwise.settings"]
            app = current_app._get_current_object()  # type: ignore[attr-defined]
            platform = dev_platform_from_settings(
                settings,
                fetch_json=_in_process_fetcher(app, settings.base_url.rstrip("/")),
            )
            current_app.extensions[EXTENSION] = platform
    return platform


def create_platform_app(platform: DevPlatform) -> Flask:
    """A standalone web app serving only the platform (tests run it on its own port)."""
    app = Flask(__name__)
    app.extensions[EXTENSION] = platform
    app.register_blueprint(bp)
    return app


def _json_error(exc: PlatformError) -> Response:
    if isinstance(exc, OAuthError):
        response = jsonify({"error": exc.code, "error_description": exc.description})
    else:
        response = jsonify({"error": exc.code, "message": exc.description})
    response.status_code = exc.status
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


def _html_error(exc: PlatformError) -> ResponseReturnValue:
    return render_template("devplatform/error.html", error=exc), exc.status


def _json(body: Any, media_type: str, status: int = 200) -> Response:
    response = Response(json.dumps(body), status=status, mimetype=media_type)
    response.headers["Cache-Control"] = "no-store"
    return response


def _request_json() -> Any:
    raw = request.get_data(as_text=True)
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        raise ServiceError("invalid_request", "The body is not JSON.") from None


def _paged(items: list[Any]) -> tuple[list[Any], str | None]:
    """Apply ``limit``/``page`` and build the ``Link: rel="next"`` header value."""
    limit_raw = request.args.get("limit")
    if not limit_raw:
        return items, None
    try:
        limit = max(1, int(limit_raw))
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        raise ServiceError(
            "invalid_request", "limit and page must be whole numbers."
        ) from None
    start = (page - 1) * limit
    chunk = items[start : start + limit]
    if start + limit >= len(items):
        return chunk, None
    args = {**request.args.to_dict(), "page": str(page + 1)}
    return chunk, f'<{request.base_url}?{urlencode(args)}>; rel="next"'


def _ensure_demo_registration(platform: DevPlatform) -> None:
    """Inside the tool app, make sure the tool knows this platform (idempotent)."""
    settings: Settings | None = current_app.extensions.get("pathwise.settings")
    if settings is None or platform.issuer != dev_platform_issuer(settings):
        return
    from lti_tool.web.transaction import request_session

    ensure_dev_registration(request_session(), settings)


@bp.get("/")
def index() -> ResponseReturnValue:
    platform = current_platform()
    _ensure_demo_registration(platform)
    return render_template(
        "devplatform/index.html",
        platform=platform,
        users=list(SAMPLE_USERS.values()),
        links=list(platform.links.values()),
        storage_target=STORAGE_TARGET,
    )


@bp.post("/launch")
def launch() -> ResponseReturnValue:
    """Start a launch as an LMS does: auto-post the login initiation to the tool."""
    platform = current_platform()
    _ensure_demo_registration(platform)
    user = SAMPLE_USERS.get(request.form.get("user", ""))
    if user is None:
        return _html_error(
            PlatformError("invalid_request", "Choose a user to launch as.")
        )
    deep_linking = request.form.get("mode") == "deep_link"
    link_id = request.form.get("link") or None
    if not deep_linking and link_id not in platform.links:
        return _html_error(
            PlatformError("invalid_request", "Choose a course link to launch.")
        )
    initiation = platform.start_launch(
        user,
        message_type=MESSAGE_DEEP_LINKING if deep_linking else MESSAGE_RESOURCE_LINK,
        link_id=None if deep_linking else link_id,
        storage_target=STORAGE_TARGET if request.form.get("storage") else None,
    )
    return render_template(
        "devplatform/autosubmit.html",
        action=initiation.login_url,
        fields=initiation.params,
        title="Starting the launch",
    )


@bp.route("/auth", methods=["GET", "POST"])
def auth() -> ResponseReturnValue:
    params = request.values.to_dict()
    try:
        answer = current_platform().authorize(params)
    except AuthorizationError as exc:
        return _html_error(exc)
    return render_template(
        "devplatform/autosubmit.html",
        action=answer.redirect_uri,
        fields=answer.fields,
        title="Signing you in to the tool",
    )


@bp.get("/jwks")
def jwks() -> ResponseReturnValue:
    return jsonify(current_platform().jwks())


@bp.post("/token")
def token() -> ResponseReturnValue:
    try:
        body = current_platform().issue_access_token(request.form.to_dict())
    except PlatformError as exc:
        return _json_error(exc)
    return _json(body, "application/json")


@bp.route("/ags/<context_id>/lineitems", methods=["GET", "POST"])
def lineitems(context_id: str) -> ResponseReturnValue:
    platform = current_platform()
    try:
        if request.method == "POST":
            platform.check_access(
                request.headers.get("Authorization"), [SCOPE_LINEITEM]
            )
            created = platform.create_lineitem(context_id, _request_json())
            return _json(created, MEDIA_LINEITEM, 201)
        platform.check_access(
            request.headers.get("Authorization"),
            [SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY],
        )
        items = platform.list_lineitems(
            context_id,
            resource_link_id=request.args.get("resource_link_id"),
            resource_id=request.args.get("resource_id"),
            tag=request.args.get("tag"),
        )
        page, link = _paged(items)
    except PlatformError as exc:
        return _json_error(exc)
    response = _json(page, MEDIA_LINEITEMS)
    if link:
        response.headers["Link"] = link
    return response


@bp.route("/ags/<context_id>/lineitems/<int:item_id>", methods=["GET", "PUT", "DELETE"])
def lineitem(context_id: str, item_id: int) -> ResponseReturnValue:
    platform = current_platform()
    auth_header = request.headers.get("Authorization")
    try:
        if request.method == "GET":
            platform.check_access(
                auth_header, [SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY]
            )
            return _json(platform.get_lineitem(context_id, item_id), MEDIA_LINEITEM)
        platform.check_access(auth_header, [SCOPE_LINEITEM])
        if request.method == "PUT":
            updated = platform.update_lineitem(context_id, item_id, _request_json())
            return _json(updated, MEDIA_LINEITEM)
        platform.delete_lineitem(context_id, item_id)
    except PlatformError as exc:
        return _json_error(exc)
    return Response(status=204)


@bp.post("/ags/<context_id>/lineitems/<int:item_id>/scores")
def scores(context_id: str, item_id: int) -> ResponseReturnValue:
    platform = current_platform()
    try:
        platform.check_access(request.headers.get("Authorization"), [SCOPE_SCORE])
        platform.post_score(context_id, item_id, _request_json(), request.content_type)
    except PlatformError as exc:
        return _json_error(exc)
    return Response(status=204)


@bp.get("/ags/<context_id>/lineitems/<int:item_id>/results")
def results(context_id: str, item_id: int) -> ResponseReturnValue:
    platform = current_platform()
    try:
        platform.check_access(
            request.headers.get("Authorization"), [SCOPE_RESULT_READONLY]
        )
        found = platform.list_results(
            context_id, item_id, user_id=request.args.get("user_id")
        )
        page, link = _paged(found)
    except PlatformError as exc:
        return _json_error(exc)
    response = _json(page, MEDIA_RESULTS)
    if link:
        response.headers["Link"] = link
    return response


@bp.get("/nrps/<context_id>/memberships")
def memberships(context_id: str) -> ResponseReturnValue:
    platform = current_platform()
    try:
        platform.check_access(request.headers.get("Authorization"), [SCOPE_NRPS])
        container = platform.memberships(context_id, role=request.args.get("role"))
        page, link = _paged(container["members"])
    except PlatformError as exc:
        return _json_error(exc)
    response = _json({**container, "members": page}, MEDIA_MEMBERSHIPS)
    if link:
        response.headers["Link"] = link
    return response


@bp.post("/deep-link-return")
def deep_link_return() -> ResponseReturnValue:
    token_value = request.form.get("JWT") or ""
    try:
        received = current_platform().receive_deep_link_response(token_value)
    except PlatformError as exc:
        return _html_error(exc)
    return render_template("devplatform/deep_link_received.html", received=received)


@bp.get("/activity")
def activity() -> ResponseReturnValue:
    platform = current_platform()
    return render_template(
        "devplatform/activity.html",
        platform=platform,
        scores=list(reversed(platform.scores)),
        returns=list(reversed(platform.deep_link_returns)),
        lineitems=list(platform.lineitems.values()),
        when=lambda ts: dt.datetime.fromtimestamp(ts, dt.UTC).strftime(
            "%Y-%m-%d %H:%M:%S UTC"
        ),
    )


@bp.get("/storage-frame")
def storage_frame() -> ResponseReturnValue:
    """LTI platform storage: Canvas's post_message_forwarding frame."""
    return render_template("devplatform/storage_frame.html")
