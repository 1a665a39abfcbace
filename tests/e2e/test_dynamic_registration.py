"""LTI Dynamic Registration against a real HTTP platform that checks the tool's request."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask, jsonify, request
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from lti_tool.app import create_app
from lti_tool.infra.config import Settings
from lti_tool.infra.db import db
from lti_tool.infra.models import AuditEntry, Deployment, Registration
from lti_tool.infra.store import DatabaseStore
from lti_tool.lti.registration import add_registration, make_invitation
from tests.support_env import truncate_all
from tests.support_http import serve_in_thread

REG_TOKEN = "reg-token-123"


SECRET_BODY = "internal-secret-7f3a"


def make_platform(
    received: list[dict[str, Any]],
    *,
    issuer_override: str | None = None,
    jwks_path: str = "/jwks",
) -> Flask:
    platform = Flask("fake_lms")

    @platform.get("/missing")
    def missing() -> Any:
        return jsonify({"db_password": SECRET_BODY}), 404

    @platform.get("/.well-known/openid-configuration")
    def config() -> Any:
        base = request.host_url.rstrip("/")
        return jsonify(
            {
                "issuer": issuer_override or base,
                "authorization_endpoint": base + "/auth",
                "token_endpoint": base + "/token",
                "jwks_uri": base + request.environ.get("jwks_path", jwks_path),
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


def _register(
    client: FlaskClient, base: str, invite: str = "", **environ: str
) -> TestResponse:
    query = {
        "openid_configuration": base + "/.well-known/openid-configuration",
        "registration_token": REG_TOKEN,
    }
    if invite:
        query["invite"] = invite
    return client.get("/lti/register", query_string=query, environ_base=environ)


@pytest.fixture
def invite(settings: Settings) -> str:
    return make_invitation(settings, created_by="ada")


@contextmanager
def app_with(settings: Settings, engine: Engine, **overrides: Any) -> Iterator[Flask]:
    application = create_app(settings.with_overrides(**overrides))
    application.config.update(TESTING=True)
    db.configure(settings.database_url, engine=engine)
    try:
        yield application
    finally:
        truncate_all(engine)


def test_dynamic_registration_stores_registration_and_deployment(
    client: FlaskClient, invite: str
) -> None:
    received: list[dict[str, Any]] = []
    with serve_in_thread(make_platform(received)) as base:
        response = _register(client, base, invite)
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


def test_a_registration_url_registers_one_platform_once(
    client: FlaskClient, invite: str
) -> None:
    received: list[dict[str, Any]] = []
    with serve_in_thread(make_platform(received)) as base:
        first = _register(client, base, invite)
    assert first.status_code == 200, first.data
    other: list[dict[str, Any]] = []
    with serve_in_thread(make_platform(other)) as base2:
        again = _register(client, base2, invite)
    assert again.status_code == 409
    assert b"already been used" in again.data
    assert other == []  # refused before anything was sent to the second LMS
    with _session() as s:
        assert [r.issuer for r in s.scalars(select(Registration))] == [base]
        refused = s.scalar(
            select(AuditEntry).where(AuditEntry.action == "registration.refused")
        )
        assert refused is not None
        assert refused.details == {"reason": "registration URL already used"}


def test_issuer_that_does_not_match_its_configuration_url_is_refused(
    client: FlaskClient, invite: str
) -> None:
    with serve_in_thread(
        make_platform([], issuer_override="https://evil.example")
    ) as base:
        response = _register(client, base, invite)
    assert response.status_code == 400
    assert b"does not match" in response.data
    assert b"evil.example" not in response.data  # the remote's claim is not echoed


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
            store=DatabaseStore(s),
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
        # The finding: a string prefix is not a URL prefix.
        ("http://127.0.0.1:5078", "http://127.0.0.1:50780/openid", False),
        ("https://lms.test/moodle", "https://lms.test/moodle-evil/openid", False),
        ("https://lms.test/moodle", "https://lms.test/moodle/openid", True),
        ("https://lms.test/moodle/", "https://lms.test/moodle/openid", True),
        ("https://lms.test", "https://lms.test.evil.example/openid", False),
        ("https://lms.test", "https://lms.test@evil.example/openid", False),
        ("https://LMS.test", "https://lms.test:443/openid", True),
        ("https://lms.test", "http://lms.test/openid", False),
        ("https://lms.test", "https://lms.test:8443/openid", False),
        ("https://lms.test?x=1", "https://lms.test/openid", False),
    ],
)
def test_configuration_url_must_belong_to_the_issuer(
    issuer: str, url: str, ok: bool
) -> None:
    from lti_tool.lti.dynamic_registration import _issuer_matches

    assert _issuer_matches(issuer, url) is ok


# -- who may register ---------------------------------------------------------------


def test_without_an_invitation_registration_is_refused(client: FlaskClient) -> None:
    received: list[dict[str, Any]] = []
    with serve_in_thread(make_platform(received)) as base:
        response = _register(client, base)
    assert response.status_code == 403
    assert b"Create a Dynamic Registration URL" in response.data
    assert received == []
    with _session() as s:
        assert s.scalar(select(Registration)) is None


def test_a_demo_install_registers_a_local_lms_without_an_invitation(
    settings: Settings, engine: Engine
) -> None:
    received: list[dict[str, Any]] = []
    with (
        app_with(settings, engine, open_local_registration=True) as app,
        serve_in_thread(make_platform(received)) as base,
    ):
        client = app.test_client()
        remote = _register(client, base, REMOTE_ADDR="192.0.2.7")
        local = _register(client, base, REMOTE_ADDR="127.0.0.1")
    # Only from loopback: another machine reaching a demo still needs an invitation.
    assert remote.status_code == 403
    assert local.status_code == 200, local.data
    assert len(received) == 1


def test_a_demo_served_on_a_public_address_needs_an_invitation(
    settings: Settings, engine: Engine
) -> None:
    with (
        app_with(
            settings,
            engine,
            open_local_registration=True,
            base_url="http://pathwise.example.org",
        ) as app,
        serve_in_thread(make_platform([])) as base,
    ):
        response = _register(app.test_client(), base, REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 403


# -- registration takeover (issue 13, finding 2) --------------------------------------


def _victim(session: Session, issuer: str, client_id: str = "victim") -> None:
    add_registration(
        session,
        issuer=issuer,
        client_id=client_id,
        auth_login_url=issuer + "/auth",
        auth_token_url=issuer + "/token",
        key_set_url=issuer + "/victim-jwks",
        deployment_id="victim-dep",
        actor="test",
    )
    session.commit()


def test_an_issuer_that_is_only_a_string_prefix_of_the_url_is_refused(
    client: FlaskClient, invite: str
) -> None:
    """The finding: http://127.0.0.1:50780/openid passed for issuer
    http://127.0.0.1:5078, then replaced that tenant's key set URL."""
    received: list[dict[str, Any]] = []
    platform = make_platform(received)
    with serve_in_thread(platform) as base:
        victim_issuer = base[:-1]  # http://127.0.0.1:5078 for a server on :50780
        with _session() as s:
            _victim(s, victim_issuer, client_id="dr-client-1")
        takeover = make_platform(received, issuer_override=victim_issuer)
        with serve_in_thread(takeover) as evil:
            response = _register(client, evil, invite)
    assert response.status_code == 400
    assert b"does not match" in response.data
    assert received == []
    with _session() as s:
        reg = s.scalar(select(Registration).where(Registration.issuer == victim_issuer))
        assert reg is not None and reg.key_set_url == victim_issuer + "/victim-jwks"


def test_a_second_registration_never_replaces_the_first(
    client: FlaskClient, settings: Settings
) -> None:
    """The finding's second half: a DR for an existing (issuer, client_id) updated
    the row with a new key set URL, so forged launches passed as its users."""
    received: list[dict[str, Any]] = []
    keys = {"path": "/jwks"}
    platform = make_platform(received, jwks_path="/jwks")

    @platform.before_request
    def _swap_keys() -> None:
        # Same LMS address, now serving a key set URL the attacker holds.
        request.environ["jwks_path"] = keys["path"]

    with serve_in_thread(platform) as base:
        first = _register(client, base, make_invitation(settings, created_by="ada"))
        assert first.status_code == 200, first.data
        keys["path"] = "/evil-jwks"
        again = _register(client, base, make_invitation(settings, created_by="eve"))
    assert again.status_code == 409
    assert b"already has a registration" in again.data
    assert len(received) == 1  # refused before anything was sent to the LMS
    with _session() as s:
        regs = s.scalars(select(Registration)).all()
        assert [r.key_set_url for r in regs] == [base + "/jwks"]
        refused = s.scalar(
            select(AuditEntry).where(AuditEntry.action == "registration.refused")
        )
        assert refused is not None and refused.target == base
        assert "eve" in refused.actor


def test_an_invited_re_registration_replaces_that_registration(
    client: FlaskClient, settings: Settings
) -> None:
    received: list[dict[str, Any]] = []
    keys = {"path": "/jwks"}
    platform = make_platform(received)

    @platform.before_request
    def _moved_keys() -> None:
        request.environ["jwks_path"] = keys["path"]

    with serve_in_thread(platform) as base:
        first = _register(client, base, make_invitation(settings, created_by="ada"))
        assert first.status_code == 200
        with _session() as s:
            reg_id = s.scalars(select(Registration.id)).one()
        keys["path"] = "/jwks2"
        reinvite = make_invitation(settings, created_by="ada", registration_id=reg_id)
        response = _register(client, base, reinvite)
    assert response.status_code == 200, response.data
    with _session() as s:
        reg = s.get(Registration, reg_id)
        assert reg is not None and reg.key_set_url == base + "/jwks2"
        assert s.scalar(
            select(AuditEntry).where(AuditEntry.action == "registration.updated")
        )


def test_a_re_registration_url_for_another_platform_is_refused(
    client: FlaskClient, settings: Settings
) -> None:
    with _session() as s:
        _victim(s, "https://moodle.other.test")
        other = s.scalar(select(Registration.id))
    received: list[dict[str, Any]] = []
    with serve_in_thread(make_platform(received)) as base:
        invite = make_invitation(settings, created_by="ada", registration_id=other)
        response = _register(client, base, invite)
    assert response.status_code == 403
    assert received == []


# -- errors name the problem and echo nothing (finding 11) ------------------------------


def test_an_lms_error_is_named_without_its_body(
    client: FlaskClient, invite: str
) -> None:
    with serve_in_thread(make_platform([])) as base:
        response = client.get(
            "/lti/register",
            query_string={"openid_configuration": base + "/missing", "invite": invite},
        )
    assert response.status_code == 400
    assert b"answered 404" in response.data
    assert SECRET_BODY.encode() not in response.data


def test_a_closed_port_is_not_described_beyond_unreachable(
    client: FlaskClient, invite: str
) -> None:
    response = client.get(
        "/lti/register",
        query_string={
            "openid_configuration": "http://127.0.0.1:9/openid",
            "invite": invite,
        },
    )
    assert response.status_code == 400
    assert b"could not be reached" in response.data
    assert b"Errno" not in response.data and b"Max retries" not in response.data


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1:{port}/openid",
        "https://localhost:{port}/openid",
        "https://[::1]:{port}/openid",
        "https://10.1.2.3/openid",
        "https://169.254.169.254/latest/meta-data",
    ],
)
def test_production_refuses_internal_configuration_urls(
    settings: Settings, engine: Engine, url: str
) -> None:
    prod = settings.with_overrides(environment="production")
    with (
        app_with(settings, engine, environment="production") as app,
        serve_in_thread(make_platform([])) as base,
    ):
        port = base.rsplit(":", 1)[1]
        response = app.test_client().get(
            "/lti/register",
            query_string={
                "openid_configuration": url.format(port=port),
                "invite": make_invitation(prod, created_by="ada"),
            },
        )
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "Pathwise does not fetch internal addresses" in text
    assert "PATHWISE_OUTBOUND_ALLOW_HOSTS" in text
