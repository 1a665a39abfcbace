"""LTI Dynamic Registration against a real HTTP platform that checks the tool's request."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, jsonify, request
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_tool.infra.config import Settings
from lti_tool.infra.db import db
from lti_tool.infra.models import AuditEntry, Deployment, Registration
from lti_tool.lti.registration import make_invitation
from tests.support_http import serve_in_thread

REG_TOKEN = "reg-token-123"


def make_platform(
    received: list[dict[str, Any]], *, issuer_override: str | None = None
) -> Flask:
    platform = Flask("fake_lms")

    @platform.get("/.well-known/openid-configuration")
    def config() -> Any:
        base = request.host_url.rstrip("/")
        return jsonify(
            {
                "issuer": issuer_override or base,
                "authorization_endpoint": base + "/auth",
                "token_endpoint": base + "/token",
                "jwks_uri": base + "/jwks",
                "registration_endpoint": base + "/register",
                "https://purl.imsglobal.org/spec/lti-platform-configuration": {
                    "product_family_code": "moodle",
                    "version": "4.3",
                },
            }
        )

    @platform.post("/register")
    def register() -> Any:
        if request.headers.get("Authorization") != f"Bearer {REG_TOKEN}":
            return jsonify({"error": "bad token"}), 401
        body = request.get_json()
        received.append(body)
        tool = body["https://purl.imsglobal.org/spec/lti-tool-configuration"]
        assert body["token_endpoint_auth_method"] == "private_key_jwt"
        assert body["initiate_login_uri"].endswith("/lti/login")
        assert body["redirect_uris"] == [tool["target_link_uri"]]
        return jsonify(
            {
                **body,
                "client_id": "dr-client-1",
                "https://purl.imsglobal.org/spec/lti-tool-configuration": {
                    **tool,
                    "deployment_id": "dep-77",
                },
            }
        )

    return platform


def _session() -> Session:
    return db.session()


def test_dynamic_registration_stores_registration_and_deployment(
    client: FlaskClient,
) -> None:
    received: list[dict[str, Any]] = []
    with serve_in_thread(make_platform(received)) as base:
        response = client.get(
            "/lti/register",
            query_string={
                "openid_configuration": base + "/.well-known/openid-configuration",
                "registration_token": REG_TOKEN,
            },
        )
    assert response.status_code == 200, response.data
    assert b"org.imsglobal.lti.close" in response.data
    assert received and received[0]["jwks_uri"].endswith("/lti/jwks")
    tool_conf = received[0]["https://purl.imsglobal.org/spec/lti-tool-configuration"]
    assert tool_conf["https://canvas.instructure.com/lti/privacy_level"] == "public"
    assert {m["type"] for m in tool_conf["messages"]} == {
        "LtiDeepLinkingRequest",
        "LtiResourceLinkRequest",
    }
    with _session() as s:
        reg = s.scalar(
            select(Registration).where(Registration.client_id == "dr-client-1")
        )
        assert reg is not None and reg.platform_kind == "moodle"
        assert reg.auth_token_url == base + "/token"
        deps = s.scalars(
            select(Deployment).where(Deployment.registration_id == reg.id)
        ).all()
        assert [d.deployment_id for d in deps] == ["dep-77"]
        assert s.scalar(
            select(AuditEntry).where(AuditEntry.action == "registration.created")
        )


def test_issuer_that_does_not_match_its_configuration_url_is_refused(
    client: FlaskClient,
) -> None:
    with serve_in_thread(
        make_platform([], issuer_override="https://evil.example")
    ) as base:
        response = client.get(
            "/lti/register",
            query_string={
                "openid_configuration": base + "/.well-known/openid-configuration"
            },
        )
    assert response.status_code == 400
    assert b"does not match" in response.data


def test_production_requires_a_signed_invitation(settings: Settings) -> None:
    prod = settings.with_overrides(environment="production")
    from lti_tool.lti.dynamic_registration import register_platform
    from lti_tool.lti.registration import RegistrationFailed

    with db.session() as s, pytest.raises(RegistrationFailed, match="not valid"):
        register_platform(
            s,
            settings=prod,
            openid_configuration_url="https://lms.example/.well-known/openid-configuration",
            registration_token=None,
            invitation="forged",
        )
    assert make_invitation(prod, created_by="ada")  # a real one can be made


@pytest.mark.parametrize(
    ("issuer", "url", "ok"),
    [
        (
            "https://moodle.acme.test",
            "https://moodle.acme.test/mod/lti/openid-configuration.php",
            True,
        ),
        ("https://moodle.acme.test", "https://evil.test/openid", False),
        (
            "https://canvas.instructure.com",
            "https://acme.instructure.com/api/lti/security/openid-configuration",
            True,
        ),
        ("https://canvas.instructure.com", "https://acme.evil.test/openid", False),
        ("https://canvas.instructure.com", "http://acme.instructure.com/openid", False),
    ],
)
def test_configuration_url_must_belong_to_the_issuer(
    issuer: str, url: str, ok: bool
) -> None:
    from lti_tool.lti.dynamic_registration import _issuer_matches

    assert _issuer_matches(issuer, url) is ok
