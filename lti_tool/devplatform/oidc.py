"""Development LMS (core): OIDC login initiation, the auth endpoint and id_tokens."""

from __future__ import annotations

import copy
import hashlib
import json
import secrets
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from lti_tool.devplatform.errors import AuthorizationError
from lti_tool.devplatform.model import (
    AuthResponse,
    LoginInitiation,
    PendingLaunch,
    SampleUser,
)
from lti_tool.devplatform.overrides import DROP, SHORT_CLAIMS, claim_overrides
from lti_tool.devplatform.state import PlatformState
from lti_tool.devplatform.vocabulary import (
    AGS_SCOPES,
    CLAIM_AGS,
    CLAIM_CONTEXT,
    CLAIM_CUSTOM,
    CLAIM_DEPLOYMENT_ID,
    CLAIM_DL_SETTINGS,
    CLAIM_LAUNCH_PRESENTATION,
    CLAIM_LIS,
    CLAIM_MESSAGE_TYPE,
    CLAIM_NRPS,
    CLAIM_RESOURCE_LINK,
    CLAIM_ROLES,
    CLAIM_TARGET_LINK_URI,
    CLAIM_TOOL_PLATFORM,
    CLAIM_VERSION,
    ID_TOKEN_TTL_S,
    LTI_VERSION,
    MESSAGE_DEEP_LINKING,
    MESSAGE_RESOURCE_LINK,
    PENDING_LAUNCH_TTL_S,
)


class OidcLaunches(PlatformState):
    """How a launch happens: login initiation, then a signed id_token on request.

    Tests bend any claim or header of the id_token through the overrides.
    """

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
        # Shaped as Moodle's: a launch id kept once (auth deletes it), and for a
        # resource link the course module that Moodle's launch page starts again.
        launch_id = "ltilaunch_" + secrets.token_urlsafe(16)
        hint_fields: dict[str, Any] = {"launchid": launch_id}
        if message_type == MESSAGE_RESOURCE_LINK and link_id in self.links:
            hint_fields = {"cmid": self.course_module_id(link_id), **hint_fields}
        hint = json.dumps(hint_fields, separators=(",", ":"))
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
            # Single use, as Moodle's mod/lti/auth.php unsets the launch id it read.
            pending = self._pending.pop(hint, None)
        if pending is None or self.clock() - pending.created_at > PENDING_LAUNCH_TTL_S:
            raise AuthorizationError(
                "invalid_request",
                "Invalid request: lti_message_hint is unknown, expired or already "
                "used (its launch id is deleted on first use, as in Moodle).",
                404,
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
