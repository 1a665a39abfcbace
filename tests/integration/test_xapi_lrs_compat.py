"""More LRSs: Ralph (no /about, lenient) end to end, clear failure messages, and a
`since` filter that fails (the sync pages with `more` instead and ends complete)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from adaptive.models import Evidence
from lti_tool.infra import outbound
from lti_tool.infra.config import Settings
from lti_tool.infra.crypto import configure_secrets
from lti_tool.infra.db import session_scope
from lti_tool.infra.models import Person
from lti_tool.infra.queue import job_queue
from tests.admin_support import run_cli
from tests.lrs_fixture import LocalLrs, lrs  # noqa: F401 - fixture
from tests.ralph_fixture import LocalRalph, ralph  # noqa: F401 - fixture
from tests.support_http import serve_in_thread
from tests.xapi_support import (
    ScriptedLrs,
    SinceFailingProxy,
    Step,
    code_review_statement,
    course_statement,
    make_world,
)
from xapi import connections, delivery, outbox, sync
from xapi.client import LrsClient
from xapi.core import statements as st
from xapi.lrs_errors import LrsRejected, LrsUnavailable
from xapi.lrs_retry import RetryPolicy
from xapi.models import OUTBOX_DELIVERED, LrsConnection
from xapi.statement_query import StatementQuery

pytestmark = pytest.mark.lrs


@pytest.fixture(autouse=True)
def _secrets() -> Iterator[None]:
    configure_secrets((Fernet.generate_key().decode(),))
    job_queue.configure(None)
    yield


def _added_id(output: str) -> int:
    found = re.search(r"Added LRS connection (\d+)", output)
    assert found, output
    return int(found.group(1))


def test_lrs_test_against_ralph_and_what_each_failure_says(
    app: Flask,
    settings: Settings,
    engine: Engine,
    ralph: LocalRalph,  # noqa: F811
) -> None:
    with session_scope() as session:
        tenant = str(make_world(session).tenant_id)

    def add(endpoint: str, password: str, *extra: str) -> int:
        result = run_cli(
            settings,
            engine,
            ["lrs", "add", "--tenant", tenant, "--endpoint", endpoint]
            + ["--username", ralph.username, "--password-stdin", *extra],
            stdin=password + "\n",
        )
        assert result.exit_code == 0, result.output
        return _added_id(result.output)

    good = add(ralph.endpoint, ralph.password)
    tested = run_cli(settings, engine, ["lrs", "test", str(good)])
    assert tested.exit_code == 0, tested.output
    # Ralph has no /about: usable, with the assumption said out loud.
    assert "OK: connected; xAPI 1.0.3; warning: the LRS has no /about (HTTP 404)" in (
        tested.output
    )

    wrong_secret = add(ralph.endpoint, "not-the-secret")
    refused = run_cli(settings, engine, ["lrs", "test", str(wrong_secret)])
    assert refused.exit_code == 1
    assert "rejected the credentials" in refused.output and "401" in refused.output
    assert "endpoint URL" not in refused.output

    wrong_path = add(ralph.root + "/not-xapi/", ralph.password)
    missing = run_cli(settings, engine, ["lrs", "test", str(wrong_path)])
    assert missing.exit_code == 1
    assert "has no GET /not-xapi/statements (404)" in missing.output
    assert "check the endpoint URL" in missing.output
    assert "key and secret" not in missing.output

    nobody = add(f"http://127.0.0.1:{ralph.port + 1}/xAPI/", ralph.password)
    unreachable = run_cli(settings, engine, ["lrs", "test", str(nobody)])
    assert unreachable.exit_code == 1
    assert "LRS unreachable" in unreachable.output

    # An admin-set version wins: /about is not asked, so there is nothing to warn of.
    pinned = run_cli(settings, engine, ["lrs", "set-version", str(good), "1.0.3"])
    assert pinned.exit_code == 0, pinned.output
    again = run_cli(settings, engine, ["lrs", "test", str(good)])
    assert "OK: connected; xAPI 1.0.3 (set on the connection)" in again.output
    assert "warning" not in again.output


def test_send_and_sync_against_ralph(
    app: Flask,
    engine: Engine,
    ralph: LocalRalph,  # noqa: F811
) -> None:
    with session_scope() as session:
        world = make_world(session)
        connection_id = connections.add_connection(
            session,
            tenant_id=world.tenant_id,
            name="Ralph",
            endpoint=ralph.endpoint,
            username=ralph.username,
            password=ralph.password,
            actor="test",
            page_size=3,
        ).id
        person = session.get(Person, world.people["u0"])
        assert person is not None
        for index in range(4):
            outbox.emit_statement(
                session,
                person=person,
                key=f"answer:{index}",
                verb="answered",
                object=st.ActivityRef(
                    f"https://pathwise.example/q/{index}", "question"
                ),
                timestamp=dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
                + dt.timedelta(seconds=index),
                result=st.ResultSpec(success=True),
            )
    # The commit kicked delivery (inline here); a second pass finds nothing due.
    with session_scope() as session:
        delivery.deliver_pending(session, checkpoint=session.commit)
        assert outbox.outbox_counts(session)[OUTBOX_DELIVERED] == 4
    client = LrsClient(ralph.endpoint, ralph.username, ralph.password)
    work = [
        course_statement("u1", "passed"),
        course_statement("u2", "scored", course="python-course", score=0.5),
        code_review_statement("u0"),
        course_statement("stranger", "passed"),
    ]
    client.post_statements(work)
    stored = {
        s["id"]
        for p in client.iter_pages(StatementQuery(limit=50))
        for s in p.statements
    }
    assert len(stored) == 8

    with session_scope() as session:
        report = sync.sync_connection(
            session, connection_id=connection_id, checkpoint=session.commit
        )
    assert report.complete, report.error
    counters = report.counters
    assert counters["fetched"] - counters["duplicates"] == 8
    assert counters["own"] == 4 and counters["unmatched_actor"] == 1
    with session_scope() as session:
        rows = list(
            session.scalars(
                select(Evidence.statement_id).where(
                    Evidence.tenant_id == world.tenant_id
                )
            )
        )
    assert set(rows) == {s["id"] for s in work[:3]}

    with session_scope() as session:
        again = sync.sync_connection(
            session, connection_id=connection_id, checkpoint=session.commit
        )
    assert again.complete, again.error
    with session_scope() as session:
        total = session.scalar(
            select(func.count())
            .select_from(Evidence)
            .where(Evidence.tenant_id == world.tenant_id)
        )
    assert total == len(rows)


def test_a_failing_since_query_falls_back_to_paging_with_more(
    db_session: Session,
    lrs: LocalLrs,  # noqa: F811
) -> None:
    world = make_world(db_session)
    proxy = SinceFailingProxy(lrs.root)
    client = LrsClient(lrs.endpoint, "key", "secret")
    first = [course_statement(f"u{i % 3}", "passed") for i in range(5)]
    for statement in first:
        # One POST each: distinct `stored` instants, so some fall before the cursor.
        client.post_statements([statement])
    with serve_in_thread(proxy) as base:
        connection_id = connections.add_connection(
            db_session,
            tenant_id=world.tenant_id,
            name="no since",
            endpoint=base + "/xAPI/",
            username="key",
            password="secret",
            actor="test",
            page_size=2,
        ).id
        connection = db_session.get(LrsConnection, connection_id)
        assert connection is not None
        connection.overlap_s = 0.0

        def quick(connection: object) -> LrsClient:
            return LrsClient(
                base + "/xAPI/",
                "key",
                "secret",
                retry=RetryPolicy(retries=1, base_s=0.01, max_s=0.02),
            )

        # The first run has no cursor, so its first query has no `since`; asking
        # again from the newest statement read does, and falls back.
        report = sync.sync_connection(
            db_session, connection_id=connection_id, client=quick(None)
        )
        assert report.complete, report.error
        assert report.counters["fetched"] - report.counters["duplicates"] == 5
        later = [course_statement(f"u{i % 3}", "failed") for i in range(3)]
        client.post_statements(later)
        # The next one asks with `since`, gets 500s, and pages from the start.
        again = sync.sync_connection(
            db_session, connection_id=connection_id, client=quick(None)
        )
    assert proxy.failed >= 1
    assert again.complete, again.error
    assert again.counters["since_fallback"] == 1
    # Every new statement read once; the old ones dropped by `stored` or by id.
    assert again.counters["fetched"] - again.counters["duplicates"] == 3
    assert again.counters["reread"] + again.counters["duplicates"] == 5
    assert again.counters["reread"] >= 1
    ids = set(
        db_session.scalars(
            select(Evidence.statement_id).where(Evidence.tenant_id == world.tenant_id)
        )
    )
    assert {s["id"] for s in first + later} <= ids


def test_a_page_larger_than_the_answer_cap_is_asked_for_again_smaller(
    db_session: Session,
    lrs: LocalLrs,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = make_world(db_session)
    client = LrsClient(lrs.endpoint, "key", "secret")
    batch = [course_statement(f"u{i % 3}", "passed") for i in range(24)]
    client.post_statements(batch)
    # A cap that 24 of these statements exceed and 6 fit in (the real one is 10 MiB).
    small = dataclasses.replace(outbound.current_policy(), max_response_bytes=6_000)
    monkeypatch.setattr(outbound, "_policy", small)
    connection_id = connections.add_connection(
        db_session,
        tenant_id=world.tenant_id,
        name="big pages",
        endpoint=lrs.endpoint,
        username="key",
        password="secret",
        actor="test",
        page_size=24,
    ).id
    report = sync.sync_connection(db_session, connection_id=connection_id)
    assert report.complete, report.error
    assert report.counters["page_halved"] >= 1
    assert report.counters["fetched"] - report.counters["duplicates"] == 24
    ids = set(
        db_session.scalars(
            select(Evidence.statement_id).where(Evidence.tenant_id == world.tenant_id)
        )
    )
    assert {s["id"] for s in batch} == ids


@pytest.mark.parametrize("about_status", [404, 405, 501])
def test_no_about_means_1_0_3_and_a_403_names_permissions(about_status: int) -> None:
    app = ScriptedLrs(
        [
            Step(about_status, {"error": "no such route"}),
            Step(403, {"error": "scope"}),
            Step(500, {}),
            Step(500, {}),
        ]
    )
    with serve_in_thread(app) as base:
        client = LrsClient(
            base + "/xAPI/",
            "key",
            "secret",
            retry=RetryPolicy(retries=1, base_s=0.01, max_s=0.02),
        )
        check = client.detect_version()
        assert check.version == "1.0.3"
        assert f"no /about (HTTP {about_status})" in check.warning
        with pytest.raises(LrsRejected) as denied:
            client.get_statements(StatementQuery(limit=1))
        with pytest.raises(LrsUnavailable) as failing:
            client.get_statements(StatementQuery(limit=1))
    assert denied.value.status == 403
    assert "check the key's permissions" in str(denied.value)
    assert "key and secret" not in str(denied.value)
    # Server errors after the retries are not called "unreachable".
    assert "server error" in str(failing.value)
    assert "unreachable" not in str(failing.value)
