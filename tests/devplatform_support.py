"""Test support for the development LMS alone: a fake tool JWKS and well-formed requests.

Shared by the in-memory tests (tests/unit/test_devplatform.py) and the HTTP ones
(tests/integration/test_devplatform_http.py); the real tool is exercised in tests/e2e.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from lti_tool.devplatform.keys import generate_rsa_key, public_jwk
from lti_tool.devplatform.model import LEARNER, ToolConfig
from lti_tool.devplatform.overrides import DROP
from lti_tool.devplatform.platform import DevPlatform
from lti_tool.devplatform.vocabulary import CLIENT_ASSERTION_TYPE, SCOPE_SCORE

ISSUER = "https://lms.example.test/dev-platform"
TOOL_BASE = "https://tool.example.test"
COURSE = "dev-course-101"

# One key for the whole session: RSA generation is the slow part of these tests.
TOOL_KEY = generate_rsa_key()


class FakeToolJwks:
    """Stands in for the tool's JWKS URL (the real tool is exercised in tests/e2e)."""

    def __init__(self, *keys: rsa.RSAPrivateKey) -> None:
        self.keys = list(keys)
        self.fetches = 0

    def __call__(self, url: str) -> dict[str, Any]:
        assert url == TOOL_BASE + "/lti/jwks"
        self.fetches += 1
        return {"keys": [public_jwk(k) for k in self.keys]}


def make_dev_platform(tool_jwks: FakeToolJwks) -> DevPlatform:
    """The development LMS with the tool at TOOL_BASE registered."""
    lms = DevPlatform(ISSUER, fetch_json=tool_jwks)
    lms.add_tool(ToolConfig.for_tool_base(TOOL_BASE))
    return lms


def auth_params(platform: DevPlatform, **changes: str | None) -> dict[str, str]:
    """The auth request a well-behaved tool sends for a freshly started launch."""
    login = platform.start_launch(LEARNER)
    params = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": login.params["client_id"],
        "redirect_uri": TOOL_BASE + "/lti/launch",
        "state": "state-1",
        "nonce": "nonce-1",
        "login_hint": login.params["login_hint"],
        "lti_message_hint": login.params["lti_message_hint"],
    }
    for name, value in changes.items():
        if value is None:
            params.pop(name)
        else:
            params[name] = value
    return params


def client_assertion(
    platform: DevPlatform,
    *,
    key: rsa.RSAPrivateKey = TOOL_KEY,
    kid_key: rsa.RSAPrivateKey | None = None,
    **changes: Any,
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": platform.tool.client_id,
        "sub": platform.tool.client_id,
        "aud": platform.token_url,
        "iat": now - 5,
        "exp": now + 60,
        "jti": "jti-" + uuid.uuid4().hex,
    }
    for name, value in changes.items():
        if value is DROP:
            claims.pop(name)
        else:
            claims[name] = value
    kid = public_jwk(kid_key or key)["kid"]
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def token_form(assertion: str, scope: str = SCOPE_SCORE) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": assertion,
        "scope": scope,
    }


def bearer(platform: DevPlatform, *scopes: str) -> str:
    answer = platform.issue_access_token(
        token_form(client_assertion(platform), " ".join(scopes))
    )
    return "Bearer " + str(answer["access_token"])


def score(user_id: str = LEARNER.sub, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "userId": user_id,
        "timestamp": "2025-03-01T10:00:00+00:00",
        "activityProgress": "Completed",
        "gradingProgress": "FullyGraded",
        "scoreGiven": 7,
        "scoreMaximum": 10,
        "comment": "Next: pivot tables",
    }
    for name, value in changes.items():
        if value is DROP:
            body.pop(name)
        else:
            body[name] = value
    return body


def graded_lineitem_id(platform: DevPlatform) -> int:
    link = next(link for link in platform.links.values() if link.lineitem_id)
    assert link.lineitem_id is not None
    return link.lineitem_id
