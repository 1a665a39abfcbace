"""Development LMS (core): the platform's in-memory state, set-up, keys and tool trust.

Every part of the platform (OIDC, token, services, deep linking) is a subclass of
PlatformState, so each works on the same state and DevPlatform joins them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from lti_tool.devplatform.errors import PlatformError, ServiceError
from lti_tool.devplatform.keys import fetch_json_over_http, generate_rsa_key, public_jwk
from lti_tool.devplatform.model import (
    SAMPLE_USERS,
    AccessGrant,
    CourseLink,
    DeepLinkReturn,
    DevCourse,
    LineItem,
    PendingLaunch,
    SampleUser,
    ScoreRecord,
    ToolConfig,
)
from lti_tool.devplatform.overrides import DROP
from lti_tool.devplatform.vocabulary import DEMO_COURSE_ID, DEMO_LINKS, JWT_LEEWAY_S


class PlatformState:
    """The platform's in-memory state; thread-safe for a threaded HTTP server.

    Args:
        issuer: its ``iss``, also the base URL of ``/auth``, ``/token``, ...
        key: its signing key (generated when omitted).
        fetch_json: how it fetches the tool's JWKS (HTTP by default).
        clock: seconds since the epoch (tests may pin it).
        register_with_tool: called before the course page and each launch so the
            tool knows this platform. The demo's composition root passes one that
            writes the tool's registration rows; the platform itself cannot, as it
            reaches the tool only over HTTP.
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
        register_with_tool: Callable[[], None] | None = None,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self._register_with_tool = register_with_tool
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
        # Answers the AGS endpoints give before their real one, oldest first:
        # "500", "503", "429" or "timeout" (a slow answer), to rehearse an outage.
        self.ags_faults: list[str] = []
        self.ags_fault_delay_s = 1.0
        # The HTTP status of every score post, faults included (409s are counted here).
        self.score_answers: list[int] = []
        self.deep_link_returns: list[DeepLinkReturn] = []
        self._pending: dict[str, PendingLaunch] = {}
        self._tokens: dict[str, AccessGrant] = {}
        self.tokens_issued = 0
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

    def register_with_tool(self) -> None:
        """Before the course page or a launch: make sure the tool knows this platform.

        Without a callback, as with a real LMS, someone registered it beforehand.
        """
        if self._register_with_tool is not None:
            self._register_with_tool()

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

    def course_module_id(self, link_id: str) -> int:
        """The link's number, as Moodle's ``cmid`` (its course page's order)."""
        return list(self.links).index(link_id) + 1

    def link_for_course_module(self, cmid: str) -> str | None:
        """The link id behind a ``cmid`` (None if there is no such link)."""
        ids = list(self.links)
        if not cmid.isdigit() or not 1 <= int(cmid) <= len(ids):
            return None
        return ids[int(cmid) - 1]

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

    # ----------------------------------------------------------- lookups

    def _user(self, user: SampleUser | str) -> SampleUser:
        if isinstance(user, SampleUser):
            return user
        found = SAMPLE_USERS.get(user) or self.users.get(user)
        if found is None:
            raise LookupError(f"unknown user {user!r}")
        return found

    def _course(self, context_id: str) -> DevCourse:
        course = self.courses.get(context_id)
        if course is None:
            raise ServiceError("not_found", f"No course {context_id!r}.", 404)
        return course

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
