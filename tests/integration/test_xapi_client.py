"""LRS client failure modes against a scripted HTTP server on a real socket."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from tests.support_http import serve_in_thread
from tests.xapi_support import ScriptedLrs, Step
from xapi.client import LrsClient
from xapi.lrs_errors import BudgetExceeded, LrsRejected, LrsUnavailable
from xapi.lrs_retry import RetryPolicy, parse_retry_after
from xapi.statement_query import StatementQuery

PAGE = {"statements": [], "more": ""}


def make_client(base: str, sleeps: list[float], **kwargs: object) -> LrsClient:
    return LrsClient(
        base + "/xAPI/",
        "key",
        "secret",
        retry=RetryPolicy(retries=3, base_s=0.1, max_s=1.0, rng=random.Random(7)),
        sleep=sleeps.append,
        **kwargs,  # type: ignore[arg-type]
    )


def test_429_waits_for_retry_after_then_succeeds() -> None:
    app = ScriptedLrs(
        [Step(429, {"error": "slow down"}, {"Retry-After": "3"}), Step(200, PAGE)]
    )
    sleeps: list[float] = []
    with serve_in_thread(app) as base:
        page = make_client(base, sleeps).get_statements(StatementQuery())
    assert page.statements == []
    assert sleeps == [3.0]
    assert len(app.requests) == 2


def test_5xx_are_retried_with_growing_jittered_backoff() -> None:
    app = ScriptedLrs([Step(503), Step(502), Step(500), Step(200, PAGE)])
    sleeps: list[float] = []
    with serve_in_thread(app) as base:
        make_client(base, sleeps).get_statements(StatementQuery())
    assert len(sleeps) == 3
    for attempt, delay in enumerate(sleeps):
        cap = min(1.0, 0.1 * 2**attempt)
        assert cap / 2 <= delay <= cap


def test_retries_run_out_as_unavailable() -> None:
    app = ScriptedLrs([Step(503)] * 4)
    with serve_in_thread(app) as base, pytest.raises(LrsUnavailable) as info:
        make_client(base, []).get_statements(StatementQuery())
    assert info.value.status == 503
    assert len(app.requests) == 4


def test_a_timeout_is_retried() -> None:
    app = ScriptedLrs([Step(200, PAGE, delay_s=1.0), Step(200, PAGE)])
    sleeps: list[float] = []
    with serve_in_thread(app) as base:
        client = make_client(base, sleeps, read_timeout_s=0.2)
        client.get_statements(StatementQuery())
    assert len(sleeps) == 1


def test_4xx_is_rejected_without_retry() -> None:
    app = ScriptedLrs([Step(400, {"message": "bad"})])
    with serve_in_thread(app) as base, pytest.raises(LrsRejected) as info:
        make_client(base, []).put_statement(
            "6f1c2c1e-2c7e-4f3a-9a55-1c3e7c2b9a10", "{}"
        )
    assert info.value.status == 400
    assert len(app.requests) == 1


def test_deadline_bounds_a_slow_request() -> None:
    app = ScriptedLrs([Step(200, PAGE, delay_s=2.0)])
    with serve_in_thread(app) as base:
        client = make_client(base, [])
        with pytest.raises(BudgetExceeded):
            client.get_statements(StatementQuery(), deadline=client._clock() + 0.3)


def test_paging_follows_more_from_the_server_root_even_past_empty_pages() -> None:
    first = {"statements": [{"id": "a"}], "more": "/xAPI/statements?cursor=2"}
    empty = {"statements": [], "more": "/xAPI/statements?cursor=3"}
    last = {"statements": [{"id": "b"}, "not an object", {"odd": {"x": 1}}], "more": ""}
    ct = "2026-03-01T10:00:00.123Z"
    app = ScriptedLrs(
        [
            Step(200, first, {"X-Experience-API-Consistent-Through": ct}),
            Step(200, empty),
            Step(200, last),
        ]
    )
    with serve_in_thread(app) as base:
        client = make_client(base, [])
        since = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        pages = list(client.iter_pages(StatementQuery(since=since, limit=50)))
    assert [len(p.statements) for p in pages] == [1, 0, 3]
    assert pages[0].consistent_through == dt.datetime(
        2026, 3, 1, 10, 0, 0, 123000, dt.UTC
    )
    assert [r.path for r in app.requests] == ["/xAPI/statements"] * 3
    assert "since=2026-01-01T00%3A00%3A00.000Z" in app.requests[0].query
    assert "ascending=true" in app.requests[0].query
    assert app.requests[1].query == "cursor=2"


def test_version_2_is_used_when_about_lists_it() -> None:
    about = {"version": ["1.0.3", "2.0.0"]}
    app = ScriptedLrs([Step(200, about), Step(200, PAGE)])
    with serve_in_thread(app) as base:
        client = make_client(base, [])
        assert client.negotiate_version() == "2.0.0"
        client.get_statements(StatementQuery())
    assert app.requests[0].headers["X-Experience-Api-Version"] == "1.0.3"
    assert app.requests[1].headers["X-Experience-Api-Version"] == "2.0.0"
    assert app.requests[1].headers["Authorization"].startswith("Basic ")


def test_retry_after_accepts_http_dates() -> None:
    assert parse_retry_after("120") == 120.0
    later = parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now=1445412500.0)
    assert later == pytest.approx(10.0)
    assert parse_retry_after("soon") is None


def test_retry_logs_name_no_agent_from_a_more_link(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A more link carries the query, agent included: the log keeps only the path.
    more = "/xAPI/statements?agent=%7B%22mbox%22%3A%22mailto%3Aada%40example.com%22%7D"
    first = {"statements": [], "more": more}
    app = ScriptedLrs([Step(200, first), Step(503), Step(400, {"message": "no"})])
    caplog.set_level("INFO", logger="xapi.client")
    with serve_in_thread(app) as base, pytest.raises(LrsRejected):
        list(make_client(base, []).iter_pages(StatementQuery()))
    logged = " ".join(r.getMessage() for r in caplog.records if r.name == "xapi.client")
    assert "retrying" in logged and "refused" in logged
    assert "ada" not in logged and "agent" not in logged
