"""Platform key sets and LRS connections go through the guarded client (issue 13,
finding 11): in production a URL on an internal address is refused with a named
reason, an allowlisted host passes, and no remote text is echoed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy.orm import Session

from lti_tool.infra.crypto import configure_secrets
from lti_tool.infra.outbound import configure_outbound
from lti_tool.infra.store import DatabaseStore
from lti_tool.lti.errors import LaunchRejected
from lti_tool.lti.platform_keys import platform_key_set
from tests.support_http import serve_in_thread
from tests.xapi_support import make_world
from xapi import connections
from xapi.client import LrsClient
from xapi.lrs_errors import LrsRejected

SECRET = "internal-only-7d1e"


def make_peer() -> Flask:
    app = Flask("internal")

    @app.get("/jwks")
    def jwks() -> Any:
        return {"keys": [{"kid": "k1", "kty": "RSA", "n": "x", "e": "AQAB"}]}

    @app.get("/xAPI/about")
    def about() -> Any:
        return {"version": ["1.0.3"], "note": SECRET}

    @app.get("/xAPI/statements")
    def statements() -> Any:
        return {"statements": [], "more": ""}

    return app


@pytest.fixture
def peer() -> Iterator[str]:
    configure_secrets((Fernet.generate_key().decode(),))
    with serve_in_thread(make_peer()) as base:
        yield base


def test_production_refuses_a_key_set_on_loopback(
    db_session: Session, peer: str
) -> None:
    configure_outbound(guard_internal=True, allow_hosts=())
    with pytest.raises(LaunchRejected) as info:
        platform_key_set(DatabaseStore(db_session), peer + "/jwks", kid="k1")
    assert info.value.code == "platform_keys_unavailable"
    assert "resolves to a loopback address" in str(info.value)
    assert "PATHWISE_OUTBOUND_ALLOW_HOSTS=127.0.0.1" in str(info.value)


def test_an_allowlisted_key_set_host_is_fetched(db_session: Session, peer: str) -> None:
    configure_outbound(guard_internal=True, allow_hosts=("127.0.0.1",))
    keys = platform_key_set(DatabaseStore(db_session), peer + "/jwks", kid="k1")
    assert keys["keys"][0]["kid"] == "k1"


def test_production_refuses_an_lrs_on_loopback(db_session: Session, peer: str) -> None:
    configure_outbound(guard_internal=True, allow_hosts=())
    with pytest.raises(LrsRejected, match="resolves to a loopback address"):
        LrsClient(peer + "/xAPI/", "key", "secret").about()
    world = make_world(db_session)
    connection = connections.add_connection(
        db_session,
        tenant_id=world.tenant_id,
        name="Internal",
        endpoint=peer.replace("127.0.0.1", "localhost") + "/xAPI/",
        username="key",
        password="secret",
        actor="test",
    )
    result = connections.test_connection(
        db_session, connection_id=connection.id, actor="test"
    )
    assert not result.ok
    assert "localhost resolves to a loopback address" in result.message
    assert SECRET not in result.message


def test_an_allowlisted_lrs_host_connects(db_session: Session, peer: str) -> None:
    configure_outbound(guard_internal=True, allow_hosts=("127.0.0.1",))
    world = make_world(db_session)
    connection = connections.add_connection(
        db_session,
        tenant_id=world.tenant_id,
        name="Allowed",
        endpoint=peer + "/xAPI/",
        username="key",
        password="secret",
        actor="test",
    )
    result = connections.test_connection(
        db_session, connection_id=connection.id, actor="test"
    )
    assert result.ok, result.message


def test_a_more_link_to_another_server_is_refused() -> None:
    client = LrsClient("https://lrs.example/xAPI/", "key", "secret")
    with pytest.raises(LrsRejected, match="another server"):
        client.resolve_more("https://collector.example/steal?x=1")
