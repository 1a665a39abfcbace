"""A GET writes nothing: only the protocol endpoints marked ``writes_on_get`` may commit one."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, delete, select

from adaptive.demo_seed import seed_demo
from adaptive.models import Module
from admin.users import create_admin_user
from lti_tool.devplatform.model import INSTRUCTOR, LEARNER
from lti_tool.infra.db import Base, session_scope
from lti_tool.infra.models import AuditEntry, ResourceLink
from lti_tool.web.transaction import (
    endpoints_writing_on_get,
    request_session,
    writes_on_get,
)
from tests.lti_platform import LtiHarness, bearer, launch_token
from xapi.models import OutboxStatement

# OIDC login initiation stores the state and nonce; LTI Dynamic Registration is a
# GET (the LMS opens it in a window) that stores the new registration.
PROTOCOL_WRITES_ON_GET = {"lti.login", "lti.register"}


def _database(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order."""
    with engine.connect() as conn:
        return {
            table.name: sorted(
                (tuple(row) for row in conn.execute(select(table))), key=repr
            )
            for table in Base.metadata.sorted_tables
        }


def _console_login(client: FlaskClient) -> None:
    page = client.get("/admin/login").data
    csrf = re.search(rb'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
    response = client.post(
        "/admin/login",
        data={
            "username": "root",
            "password": "correct horse battery",
            "csrf_token": csrf.group(1).decode() if csrf else "",
        },
    )
    assert response.status_code == 302


def _get_urls(app: Flask) -> list[str]:
    """A URL for every GET route of the app, placeholders filled in."""
    adapter = app.url_map.bind("localhost")
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or set()):
            continue
        if rule.endpoint in PROTOCOL_WRITES_ON_GET:
            continue
        values = dict.fromkeys(rule.arguments, 1)
        urls.append(adapter.build(rule.endpoint, values, method="GET"))
    return urls


def test_only_protocol_endpoints_may_write_on_get(lti: LtiHarness) -> None:
    assert lti.tool.app is not None
    assert endpoints_writing_on_get(lti.tool.app) == PROTOCOL_WRITES_ON_GET


def test_a_get_of_every_route_leaves_the_database_unchanged(
    lti: LtiHarness, engine: Engine
) -> None:
    app = lti.tool.app
    assert app is not None
    with session_scope() as session:
        seed_demo(session)
        create_admin_user(
            session, username="root", password="correct horse battery", role="admin"
        )
    lti.do_launch(LEARNER)
    with session_scope() as session:
        module = session.scalars(select(Module).order_by(Module.id)).first()
        assert module is not None
        for link in session.scalars(select(ResourceLink)):
            link.module_id = module.id
    learner = launch_token(lti.do_launch(LEARNER).text)
    instructor = launch_token(lti.do_launch(INSTRUCTOR).text)
    client = app.test_client()
    _console_login(client)
    with session_scope() as session:
        # Before this rule, a view of the learner page recorded the recommendation.
        session.execute(delete(OutboxStatement))

    before = _database(engine)
    urls = _get_urls(app)
    assert "/app/home" in urls and "/admin/" in urls
    for url in urls:
        for headers in ({}, bearer(learner), bearer(instructor)):
            client.get(url, headers=headers)
            client.head(url, headers=headers)
    assert _database(engine) == before


def test_the_request_transaction_commits_a_get_only_when_marked(
    app: Flask, client: FlaskClient
) -> None:
    def write(action: str) -> str:
        request_session().add(AuditEntry(actor="test", action=action))
        return "written"

    app.add_url_rule("/t/get", "t_get", lambda: write("get"), methods=["GET"])
    app.add_url_rule("/t/post", "t_post", lambda: write("post"), methods=["POST"])
    app.add_url_rule(
        "/t/protocol", "t_protocol", writes_on_get(lambda: write("protocol"))
    )
    app.config["WTF_CSRF_ENABLED"] = False

    assert client.get("/t/get").status_code == 200
    assert client.head("/t/get").status_code == 200
    assert client.post("/t/post").status_code == 200
    assert client.get("/t/protocol").status_code == 200
    with session_scope() as session:
        actions = set(session.scalars(select(AuditEntry.action)))
    assert actions == {"post", "protocol"}
