"""The statement outbox and sync through outages, against the real LRS (and real RQ)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from cryptography.fernet import Fernet
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from adaptive.models import Evidence
from lti_tool.infra.crypto import configure_secrets
from lti_tool.infra.db import session_scope
from lti_tool.infra.models import AuditEntry, Person
from lti_tool.infra.queue import QUEUE_OUTBOX, job_queue
from tests.lrs_fixture import LocalLrs, TcpProxy, lrs, lrs_proxy  # noqa: F401
from tests.support_env import truncate_all
from tests.xapi_support import World, course_statement, make_world
from xapi import connections, delivery, jobs, outbox, sync
from xapi.client import LrsClient
from xapi.core import statements as st
from xapi.core import validation
from xapi.lrs_retry import RetryPolicy
from xapi.models import (
    OUTBOX_CONFLICT,
    OUTBOX_DELIVERED,
    OUTBOX_PARKED,
    OUTBOX_PENDING,
    LrsConnection,
    OutboxStatement,
)
from xapi.statement_query import StatementQuery

pytestmark = pytest.mark.lrs
FUTURE = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
LATER = FUTURE + dt.timedelta(days=1)


@pytest.fixture
def committed(engine: Engine) -> Iterator[Engine]:
    """Jobs open their own sessions, so these tests commit; tables are emptied after."""
    configure_secrets((Fernet.generate_key().decode(),))
    job_queue.configure(None)
    truncate_all(engine)
    yield engine
    job_queue.configure(None)
    truncate_all(engine)


def setup_world(endpoint: str | None, statements: int) -> tuple[World, int | None]:
    """A tenant with ``statements`` queued answers (queued before any LRS exists)."""
    with session_scope() as session:
        world = make_world(session)
        person = session.get(Person, world.people["u0"])
        assert person is not None
        for index in range(statements):
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
                result=st.ResultSpec(success=index % 2 == 0),
            )
    connection_id = None
    if endpoint is not None:
        with session_scope() as session:
            connection_id = connections.add_connection(
                session,
                tenant_id=world.tenant_id,
                name="LRS",
                endpoint=endpoint,
                username="k",
                password="s",
                actor="test",
                page_size=5,
            ).id
    return world, connection_id


def emit_answer(person_id: int, key: str) -> None:
    """One "answered" statement for a person, committed on its own (one answer)."""
    with session_scope() as session:
        person = session.get(Person, person_id)
        assert person is not None
        outbox.emit_statement(
            session,
            person=person,
            key=key,
            verb="answered",
            object=st.ActivityRef(f"https://pathwise.example/q/{key}", "question"),
            timestamp=dt.datetime(2026, 3, 2, tzinfo=dt.UTC),
        )


def statuses() -> dict[str, int]:
    with session_scope() as session:
        return outbox.outbox_counts(session)


def lrs_ids(server: LocalLrs) -> list[str]:
    client = LrsClient(server.endpoint, "k", "s")
    return [
        s["id"]
        for p in client.iter_pages(StatementQuery(limit=500))
        for s in p.statements
    ]


def deliver(now: dt.datetime | None = None, **kwargs: Any) -> delivery.DeliveryReport:
    with session_scope() as session:
        return delivery.deliver_pending(
            session, now=now, checkpoint=session.commit, **kwargs
        )


def test_without_an_lrs_statements_wait_in_the_outbox(committed: Engine) -> None:
    setup_world(None, 3)
    # Enqueueing kicked delivery after commit (inline); with no LRS nothing failed.
    assert statuses()[OUTBOX_PENDING] == 3
    with session_scope() as session:
        bodies = session.scalars(select(OutboxStatement.body)).all()
        assert all(
            validation.validate_statement(__import__("json").loads(b)) == []
            for b in bodies
        )
    # A run does not even read them (they wait for a connection, at no cost a run).
    report = jobs.send_pending_statements()
    assert report == delivery.DeliveryReport().as_dict()
    assert statuses()[OUTBOX_PENDING] == 3


def test_a_tenant_without_an_lrs_never_starves_one_with_an_lrs(
    committed: Engine,
    lrs: LocalLrs,  # noqa: F811
) -> None:
    # Tenant A has no LRS and its statements came first, more than a run's batch.
    setup_world(None, 5)
    with session_scope() as session:
        b = make_world(session, deployment_id="dep-b")
    for index in range(2):
        emit_answer(b.people["u0"], f"b-answer:{index}")
    with session_scope() as session:  # B's LRS comes after its statements
        connections.add_connection(
            session,
            tenant_id=b.tenant_id,
            name="LRS",
            endpoint=lrs.endpoint,
            username="k",
            password="s",
            actor="test",
            page_size=5,
        )
    report = deliver(limit=3)
    assert (report.delivered, report.no_connection) == (2, 0)
    with session_scope() as session:
        waiting = session.scalars(
            select(OutboxStatement.tenant_id).where(
                OutboxStatement.status == OUTBOX_PENDING
            )
        ).all()
    assert len(waiting) == 5 and b.tenant_id not in waiting
    assert len(lrs_ids(lrs)) == 2


def test_enqueue_is_part_of_the_callers_transaction(
    committed: Engine, db_session: Session
) -> None:
    with session_scope() as session:
        world = make_world(session)
    with pytest.raises(RuntimeError), session_scope() as session:
        person = session.get(Person, world.people["u1"])
        assert person is not None
        outbox.emit_statement(
            session,
            person=person,
            key="rolled-back",
            verb="attempted",
            object=st.ActivityRef("https://pathwise.example/m/1", "module"),
            timestamp=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
        )
        raise RuntimeError("the state change failed")
    assert sum(statuses().values()) == 0


def test_outage_during_delivery_every_statement_arrives_exactly_once(
    committed: Engine,
    lrs: LocalLrs,  # noqa: F811
    lrs_proxy: TcpProxy,  # noqa: F811
) -> None:
    world, connection_id = setup_world(lrs_proxy.endpoint(), 30)
    puts = {"ok": 0}

    def outage_after_ten(
        response: requests.Response, *args: Any, **kwargs: Any
    ) -> None:
        if response.request.method == "PUT" and response.status_code == 204:
            puts["ok"] += 1
            if puts["ok"] == 10:
                # The next PUT reaches the LRS but its answer is lost.
                lrs_proxy.drop_responses = True

    def factory(connection: Any) -> LrsClient:
        client = connections.client_for(
            connection, retry=RetryPolicy(retries=1, base_s=0.01)
        )
        client.timeout = (1.0, 1.0)
        client.http.hooks["response"].append(outage_after_ten)
        return client

    first = deliver(client_factory=factory)
    assert first.delivered == 10
    assert first.retrying == 20
    assert statuses()[OUTBOX_PENDING] == 20

    lrs_proxy.drop_responses = False
    lrs_proxy.cut()
    during = deliver(now=FUTURE, client_factory=factory)
    assert during.delivered == 0 and during.retrying == 20
    with session_scope() as session:
        errors = session.scalars(
            select(OutboxStatement.last_error).where(
                OutboxStatement.attempts > 0, OutboxStatement.status == OUTBOX_PENDING
            )
        ).all()
        # Named without the exception's text (it lists internal hosts and ports).
        assert errors and all("could not be reached" in e for e in errors)

    lrs_proxy.restore()
    after = deliver(now=LATER)
    assert after.delivered == 20
    assert statuses() == {
        OUTBOX_PENDING: 0,
        OUTBOX_DELIVERED: 30,
        OUTBOX_CONFLICT: 0,
        OUTBOX_PARKED: 0,
    }
    with session_scope() as session:
        ours = sorted(session.scalars(select(OutboxStatement.statement_id)).all())
        retried = session.scalar(
            select(func.count()).where(OutboxStatement.attempts > 1)
        )
    arrived = lrs_ids(lrs)
    assert sorted(arrived) == ours  # each exactly once, none missing
    assert retried and retried >= 1  # the lost answer was re-sent (idempotent PUT)


def test_lrs_restart_during_delivery(committed: Engine, lrs: LocalLrs) -> None:  # noqa: F811
    """Stop the real LRS mid-delivery, start it again: the rest arrive, once each.

    The in-memory LRS forgets what it had, so only the post-restart set is compared.
    """
    _, _ = setup_world(lrs.endpoint, 12)
    first = deliver(limit=5)
    assert first.delivered == 5
    with session_scope() as session:
        before = set(
            session.scalars(
                select(OutboxStatement.statement_id).where(
                    OutboxStatement.status == OUTBOX_DELIVERED
                )
            )
        )
    lrs.stop()
    down = deliver(now=FUTURE)
    assert down.delivered == 0 and statuses()[OUTBOX_PENDING] == 7
    lrs.start()
    up = deliver(now=LATER)
    assert up.delivered == 7
    with session_scope() as session:
        everything = set(session.scalars(select(OutboxStatement.statement_id)))
    arrived = lrs_ids(lrs)
    assert len(arrived) == len(set(arrived)) == 7
    assert set(arrived) == everything - before


def test_conflicts_and_rejections_are_parked_for_an_admin(
    committed: Engine,
    lrs: LocalLrs,  # noqa: F811
) -> None:
    world, _ = setup_world(lrs.endpoint, 2)
    with session_scope() as session:
        rows = session.scalars(
            select(OutboxStatement).order_by(OutboxStatement.id)
        ).all()
        # Someone else already stored a different statement under our first id.
        other = course_statement("u0", "passed", statement_id=rows[0].statement_id)
        LrsClient(lrs.endpoint, "k", "s").put_statement(
            rows[0].statement_id, __import__("json").dumps(other)
        )
        # And the second became unacceptable (e.g. a profile change the LRS refuses).
        rows[1].body = rows[1].body.replace('"version":"1.0.3"', '"version":"9.9"')
    report = deliver()
    assert (report.conflicts, report.parked) == (1, 1)
    with session_scope() as session:
        parked = outbox.outbox_problems(session)
        assert {p.status for p in parked} == {OUTBOX_CONFLICT, OUTBOX_PARKED}
        assert all(p.last_error for p in parked)
        assert outbox.retry_parked(session, actor="admin") == 2
    # Retrying re-sends at once (after commit); the LRS still refuses both.
    assert statuses() == {
        OUTBOX_PENDING: 0,
        OUTBOX_DELIVERED: 0,
        OUTBOX_CONFLICT: 1,
        OUTBOX_PARKED: 1,
    }
    with session_scope() as session:
        audit = session.scalars(select(AuditEntry.action)).all()
    assert "xapi.outbox.retry_parked" in audit


def test_delivery_through_a_real_rq_worker(
    committed: Engine,
    redis_url: str,
    lrs: LocalLrs,  # noqa: F811
) -> None:
    job_queue.configure(redis_url)
    world, _ = setup_world(lrs.endpoint, 0)
    with session_scope() as session:
        person = session.get(Person, world.people["u2"])
        assert person is not None
        for verb in ("attempted", "passed", "recommended"):
            outbox.emit_statement(
                session,
                person=person,
                key=f"rq:{verb}",
                verb=verb,
                object=st.ActivityRef("https://pathwise.example/m/1", "module"),
                timestamp=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
            )
    connection = Redis.from_url(redis_url)
    queue = Queue(QUEUE_OUTBOX, connection=connection)
    assert queue.count == 1  # one delivery job per commit, not per statement
    SimpleWorker([queue], connection=connection).work(burst=True)
    assert statuses()[OUTBOX_DELIVERED] == 3
    assert len(lrs_ids(lrs)) == 3


def test_commits_within_the_gather_window_share_one_scheduled_run(
    committed: Engine,
    redis_url: str,
    lrs: LocalLrs,  # noqa: F811
) -> None:
    job_queue.configure(redis_url, gather_s=2.0)
    try:
        world, _ = setup_world(lrs.endpoint, 0)
        connection = Redis.from_url(redis_url)
        connection.flushdb()
        queue = Queue(QUEUE_OUTBOX, connection=connection)
        for index in range(3):  # three answers, three commits
            emit_answer(world.people["u1"], f"gathered:{index}")
        # Nothing runs at once: one run is scheduled for the whole window.
        assert queue.count == 0
        assert queue.scheduled_job_registry.count == 1
        SimpleWorker([queue], connection=connection).work(
            burst=True, with_scheduler=True
        )
        assert statuses()[OUTBOX_PENDING] == 3  # not due yet: nothing was sent
        time.sleep(2.1)  # RQ schedules to the whole second: due within 2 s
        SimpleWorker([queue], connection=connection).work(
            burst=True, with_scheduler=True
        )
        assert statuses()[OUTBOX_DELIVERED] == 3
        assert len(lrs_ids(lrs)) == 3
        # The run opened the gate: the next commit schedules the next run.
        emit_answer(world.people["u1"], "gathered:later")
        assert queue.scheduled_job_registry.count == 1
    finally:
        job_queue.configure(None, gather_s=0.0)


def test_sync_resumes_after_an_outage_without_gaps_or_duplicates(
    committed: Engine,
    lrs: LocalLrs,  # noqa: F811
    lrs_proxy: TcpProxy,  # noqa: F811
) -> None:
    world, connection_id = setup_world(lrs_proxy.endpoint(), 0)
    assert connection_id is not None
    loader = LrsClient(lrs.endpoint, "k", "s")
    batch = [
        course_statement(f"u{i % 3}", "passed" if i % 4 else "failed")
        for i in range(40)
    ]
    loader.post_statements(batch)
    pages = {"n": 0}

    def cut_after_three_pages(response: requests.Response, *a: Any, **k: Any) -> None:
        if "/statements" in response.url:
            pages["n"] += 1
            if pages["n"] == 3:
                lrs_proxy.cut()

    with session_scope() as db:
        connection = db.get(LrsConnection, connection_id)
        assert connection is not None
        client = connections.client_for(
            connection, retry=RetryPolicy(retries=1, base_s=0.01)
        )
        client.http.hooks["response"].append(cut_after_three_pages)
        broken = sync.sync_connection(
            db, connection_id=connection_id, client=client, checkpoint=db.commit
        )
    assert not broken.complete and broken.error
    with session_scope() as db:
        partial = db.scalar(select(func.count()).select_from(Evidence)) or 0
    assert 0 < partial < 40

    # Meanwhile more statements arrive; then the network comes back.
    extra = [course_statement("u1", "passed") for _ in range(7)]
    loader.post_statements(extra)
    lrs_proxy.restore()
    result = jobs.sync_lrs(connection_id)
    assert result["complete"], result
    with session_scope() as db:
        ids = db.scalars(select(Evidence.statement_id)).all()
    # No gap, no duplicate.
    assert sorted(str(i) for i in ids) == sorted(s["id"] for s in batch + extra)
