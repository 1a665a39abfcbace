"""Development LMS (core): the OAuth2 token endpoint and the services' Bearer check."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from typing import Any

import jwt

from lti_tool.devplatform.errors import OAuthError, ServiceError
from lti_tool.devplatform.model import AccessGrant
from lti_tool.devplatform.state import PlatformState
from lti_tool.devplatform.vocabulary import (
    ACCESS_TOKEN_TTL_S,
    ALL_SCOPES,
    CLIENT_ASSERTION_TYPE,
    JWT_LEEWAY_S,
)


class AccessTokens(PlatformState):
    """Access tokens for AGS and NRPS, for a tool that signs a client assertion."""

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
            self.tokens_issued += 1
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
