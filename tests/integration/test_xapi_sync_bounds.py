"""The sync is bounded when an LRS misbehaves (issue 13, finding 16): one that keeps
re-serving a page (with or without a malformed statement) made the sync loop
forever. A tiny local LRS plays that part."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adaptive.models import Evidence
from lti_tool.infra.crypto import configure_secrets
from tests.support_http import serve_in_thread
from tests.xapi_support import course_statement, make_world
from xapi import connections, sync
from xapi.models import RUN_PARTIAL, QuarantinedStatement, SyncRun

STORED = "2026-03-01T10:00:00.000Z"
CONSISTENT = {"X-Experience-API-Consistent-Through": "2030-01-01T00:00:00Z"}


@pytest.fixture(autouse=True)
def _secrets() -> Iterator[None]:
    configure_secrets((Fernet.generate_key().decode(),))
    limits = sync.limits.max_pages
    yield
    sync.configure_sync_limits(max_pages=limits)


class RepeatingLrs:
    """Answers /about, then the same statements on every page; ``more`` is either
    always the same link or a new one each time (``fresh_more``)."""

    def __init__(self, statements: list[Any], *, fresh_more: bool = False) -> None:
        self.statements = statements
        self.fresh_more = fresh_more
        self.requests = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        self.requests += 1
        if environ["PATH_INFO"].endswith("/about"):
            body: dict[str, Any] = {"version": ["1.0.3"]}
        else:
            more = "/xAPI/statements?more=" + (
                str(self.requests) if self.fresh_more else "again"
            )
            body = {"statements": self.statements, "more": more}
        payload = json.dumps(body).encode()
        start_response(
            "200 OK",
            [("Content-Type", "application/json"), *CONSISTENT.items()],
        )
        return [payload]


class EndlessLrs(RepeatingLrs):
    """New statements and a new ``more`` link on every page, forever."""

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        self.statements = [
            dict(course_statement("u0", "passed"), stored=STORED) for _ in range(2)
        ]
        return super().__call__(environ, start_response)


def _sync(session: Session, app: Any) -> tuple[sync.SyncReport, int]:
    world = make_world(session)
    with serve_in_thread(app) as base:
        connection = connections.add_connection(
            session,
            tenant_id=world.tenant_id,
            name="Repeating LRS",
            endpoint=base + "/xAPI/",
            username="key",
            password="secret",
            actor="test",
        )
        report = sync.sync_connection(session, connection_id=connection.id)
    return report, world.tenant_id


def _page() -> list[Any]:
    return [
        dict(course_statement("u0", "passed"), stored=STORED),
        dict(course_statement("u1", "passed"), stored=STORED),
        {"id": "not-a-uuid", "stored": STORED},  # malformed: quarantined
    ]


def test_an_lrs_repeating_its_more_link_ends_the_sync(db_session: Session) -> None:
    app = RepeatingLrs(_page())
    report, tenant = _sync(db_session, app)
    assert not report.complete
    assert "the LRS returned the same page again" in report.error
    assert app.requests < 10  # /about, the page, its repeat (and a prefetch)
    evidence = db_session.scalar(
        select(func.count()).select_from(Evidence).where(Evidence.tenant_id == tenant)
    )
    assert evidence == 2  # each statement stored once
    assert db_session.scalar(select(func.count(QuarantinedStatement.id))) == 1
    run = db_session.get(SyncRun, report.run_id)
    assert run is not None and run.status == RUN_PARTIAL
    assert "same page again" in run.error


def test_an_lrs_re_serving_a_page_under_new_links_ends_the_sync(
    db_session: Session,
) -> None:
    app = RepeatingLrs(_page(), fresh_more=True)
    report, tenant = _sync(db_session, app)
    assert not report.complete
    assert "the LRS returned the same page again" in report.error
    assert app.requests < 10
    assert db_session.scalar(select(func.count(QuarantinedStatement.id))) == 1


def test_a_sync_reads_at_most_the_configured_pages(db_session: Session) -> None:
    sync.configure_sync_limits(max_pages=5)
    app = EndlessLrs([], fresh_more=True)
    report, _ = _sync(db_session, app)
    assert not report.complete
    assert report.counters["pages"] == 5
    assert "stopped after 5 pages" in report.error


def test_an_lrs_re_serving_a_malformed_statement_without_more_ends_the_sync(
    db_session: Session,
) -> None:
    """No `more` link at all: each fresh query gets the same page back. A malformed
    statement is no progress, so the run ends instead of asking again forever."""

    class SamePage(RepeatingLrs):
        def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
            self.requests += 1
            body: dict[str, Any] = (
                {"version": ["1.0.3"]}
                if environ["PATH_INFO"].endswith("/about")
                else {"statements": self.statements, "more": ""}
            )
            start_response(
                "200 OK", [("Content-Type", "application/json"), *CONSISTENT.items()]
            )
            return [json.dumps(body).encode()]

    app = SamePage(_page())
    report, _ = _sync(db_session, app)
    assert app.requests < 10
    assert report.counters["malformed"] >= 1
