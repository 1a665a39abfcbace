"""Development LMS (pure): its people, courses, links, line items, scores, launches."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from cryptography.hazmat.primitives.asymmetric import rsa

from lti_tool.devplatform.vocabulary import (
    DEV_CLIENT_ID,
    DEV_DEPLOYMENT_ID,
    ROLE_FACULTY,
    ROLE_INSTITUTION_ADMIN,
    ROLE_INSTRUCTOR,
    ROLE_LEARNER,
    ROLE_STUDENT,
    ROLE_SYSTEM_ADMIN,
)


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
