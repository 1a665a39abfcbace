"""Strict judging in the sync (issue 10, defect 4), as properties: a malformed
statement is quarantined with its reason, never becomes evidence and never stops
the sync; a valid one is never quarantined; the outcomes add up to ``fetched``.
A lenient LRS (one that stores what the strict real LRS refuses) is a small local
HTTP server."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive.models import Evidence
from lti_tool.infra.crypto import configure_secrets
from tests.statement_strategies import malformed_statements, valid_statements
from tests.support_http import serve_in_thread
from tests.xapi_support import ScriptedLrs, Step, make_world
from xapi import connections, sync
from xapi.evidence import OUTCOMES
from xapi.models import QuarantinedStatement

CONSISTENT = {"X-Experience-API-Consistent-Through": "2100-01-01T00:00:00Z"}
PEOPLE = ("u0", "u1", "u2", "stranger")


@pytest.fixture(autouse=True)
def _secrets() -> Iterator[None]:
    configure_secrets((Fernet.generate_key().decode(),))
    yield


@pytest.fixture
def tenant(db_session: Session) -> int:
    """One tenant for all of a test's examples (the session rolls back after it)."""
    return make_world(db_session).tenant_id


pages = st.lists(
    st.one_of(
        st.sampled_from(PEOPLE)
        .flatmap(lambda sub: valid_statements(sub))
        .map(lambda s: ("", s)),
        st.sampled_from(PEOPLE).flatmap(lambda sub: malformed_statements(sub)),
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(pages)
def test_malformed_statements_are_quarantined_and_never_evidence(
    db_session: Session, tenant: int, page: list[tuple[str, Any]]
) -> None:
    statements: list[Any] = []
    bad_ids: set[str] = set()
    good_ids: set[str] = set()
    for index, (code, statement) in enumerate(page):
        fresh = str(uuid.uuid4())
        if statement.get("id") != "not-a-uuid":
            statement["id"] = fresh
        if code:
            bad_ids.add(str(statement["id"]).lower())
            # Distinct, so no two malformed statements are the very same one.
            statement["object"]["id"] = f"https://courses.example.com/x?n={index}"
        else:
            good_ids.add(fresh)
        statements.append(statement)
    app = ScriptedLrs(
        [
            Step(200, {"version": ["1.0.3", "2.0.0"]}),
            Step(200, {"statements": statements, "more": ""}, CONSISTENT),
            Step(200, {"statements": [], "more": ""}, CONSISTENT),
        ]
    )
    with serve_in_thread(app) as base:
        connection = connections.add_connection(
            db_session,
            tenant_id=tenant,
            name="Lenient LRS",
            endpoint=base + "/xAPI/",
            username="key",
            password="secret",
            actor="test",
            actor_mode="mbox",
        )
        report = sync.sync_connection(db_session, connection_id=connection.id)
    assert report.complete, report.error
    codes = Counter(code for code, _ in page if code)
    counters = report.counters
    assert counters["malformed"] == sum(codes.values())
    assert {
        k.removeprefix("malformed."): v
        for k, v in counters.items()
        if k.startswith("malformed.")
    } == dict(codes)
    assert counters["fetched"] == len(page)
    assert sum(counters[name] for name in OUTCOMES) == counters["fetched"]
    quarantined = db_session.scalars(
        select(QuarantinedStatement).where(
            QuarantinedStatement.connection_id == connection.id
        )
    ).all()
    assert len(quarantined) == sum(codes.values())
    assert not {q.statement_id for q in quarantined} & good_ids
    stored = set(db_session.scalars(select(Evidence.statement_id)))
    assert not stored & bad_ids
