"""Honest sync counters (issue 10, defect 6): each statement is counted once per
run whatever the LRS's paging does, re-served ones as ``reread``, and the outcome
counters add up to ``fetched``. A misbehaving LRS whose ``more`` chain re-serves
older pages is a small local HTTP server (a foreign system we cannot run here);
the normal path runs on the real LRS."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adaptive.models import Evidence
from lti_tool.infra.crypto import configure_secrets
from tests.lrs_fixture import LocalLrs, lrs  # noqa: F401 - fixture
from tests.support_http import serve_in_thread
from tests.xapi_support import ScriptedLrs, Step, course_statement, make_world
from xapi import connections, sync
from xapi.client import LrsClient
from xapi.evidence import OUTCOMES
from xapi.models import SyncCursor, SyncRun

CONSISTENT = {"X-Experience-API-Consistent-Through": "2030-01-01T00:00:00Z"}


@pytest.fixture(autouse=True)
def _secrets() -> Iterator[None]:
    configure_secrets((Fernet.generate_key().decode(),))
    yield


def outcomes_add_up(counters: Mapping[str, int]) -> bool:
    return sum(counters.get(name, 0) for name in OUTCOMES) == counters["fetched"]


def stored_at(second: int, statement: dict[str, Any]) -> dict[str, Any]:
    moment = dt.datetime(2026, 3, 1, 10, 0, second, tzinfo=dt.UTC)
    return dict(statement, stored=moment.isoformat().replace("+00:00", "Z"))


def page(statements: list[Any], more: str = "") -> Step:
    return Step(200, {"statements": statements, "more": more}, CONSISTENT)


def test_re_served_pages_are_counted_as_reread_not_fetched_twice(
    db_session: Session,
) -> None:
    world = make_world(db_session)
    s = [stored_at(i, course_statement(f"u{i % 3}", "passed")) for i in range(6)]
    unknown = stored_at(6, course_statement("stranger", "passed"))
    # The `more` chain goes back to older pages (never the very same page twice).
    app = ScriptedLrs(
        [
            Step(200, {"version": ["1.0.3"]}),
            page([s[0], s[1]], more="/xAPI/statements?more=2"),
            page([s[2], s[3]], more="/xAPI/statements?more=3"),
            page([s[1], s[2], s[4]], more="/xAPI/statements?more=4"),
            page([s[0], s[5], unknown], more="/xAPI/statements?more=5"),
            page([s[3], s[4]]),
            page([s[5], unknown]),  # the closing "anything new?" query
        ]
    )
    with serve_in_thread(app) as base:
        connection = connections.add_connection(
            db_session,
            tenant_id=world.tenant_id,
            name="Re-serving LRS",
            endpoint=base + "/xAPI/",
            username="key",
            password="secret",
            actor="test",
        )
        report = sync.sync_connection(db_session, connection_id=connection.id)
    assert report.complete, report.error
    counters = report.counters
    assert counters["fetched"] == 7
    assert counters["reread"] == 7  # 2 + 1 + 2 in the chain, 2 in the closing query
    assert counters["matched"] == 6 and counters["unmatched_actor"] == 1
    assert outcomes_add_up(counters)
    assert counters["evidence"] == 6
    run = db_session.get(SyncRun, report.run_id)
    assert run is not None and run.counters == dict(counters)
    rows = db_session.execute(
        select(Evidence.statement_id, func.count()).group_by(Evidence.statement_id)
    ).all()
    assert sorted(rows) == sorted((x["id"], 1) for x in s)


def test_counters_add_up_on_the_real_lrs_across_runs(
    db_session: Session,
    lrs: LocalLrs,  # noqa: F811
) -> None:
    world = make_world(db_session)
    connection = connections.add_connection(
        db_session,
        tenant_id=world.tenant_id,
        name="Test LRS",
        endpoint=lrs.endpoint,
        username="key",
        password="secret",
        actor="test",
        page_size=3,
    )
    client = LrsClient(lrs.endpoint, "key", "secret")
    batch = [
        course_statement("u0", "passed"),
        course_statement("u1", "failed"),
        course_statement("u0", "experienced"),  # no rule
        course_statement("stranger", "passed"),  # unknown person
        course_statement("u2", "passed", course="unknown-course"),  # no skill
        course_statement("u2", "scored", course="python-course", score=0.5),
        course_statement("u1", "passed", course="python-course"),
    ]
    client.post_statements(batch)
    first = sync.sync_connection(db_session, connection_id=connection.id)
    assert first.complete, first.error
    assert first.counters["fetched"] == len(batch)
    assert first.counters["duplicates"] == 0
    assert outcomes_add_up(first.counters)

    client.post_statements([course_statement("u2", "passed")])
    second = sync.sync_connection(db_session, connection_id=connection.id)
    assert second.complete
    # The overlap re-reads the last run's newest statements: fetched once in this
    # run, as duplicates; the one new statement is matched.
    assert second.counters["matched"] == 1
    assert second.counters["fetched"] == second.counters["duplicates"] + 1
    assert outcomes_add_up(second.counters)
    cursor = db_session.get(SyncCursor, connection.id)
    assert cursor is not None
    totals = Counter(cursor.totals)
    assert outcomes_add_up(totals)
    assert totals["fetched"] - totals["duplicates"] == len(batch) + 1
