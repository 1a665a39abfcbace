"""Nothing is lost between the launch-time pull and the sync (issue 10, defect 1),
whatever the identity mix: account-only, mbox-only and dual-identity people, on
the real LRS: sync, pull at first launch, sync, pull again."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adaptive.models import Evidence
from lti_tool.infra.crypto import configure_secrets
from lti_tool.infra.models import Person
from tests.lrs_fixture import LocalLrs, lrs  # noqa: F401 - fixture
from tests.xapi_support import course_statement, make_world
from xapi import connections, pull, sync
from xapi.client import LrsClient
from xapi.models import LrsConnection, QueryCursor, UnmatchedActor

pytestmark = pytest.mark.lrs


@pytest.fixture(autouse=True)
def _secrets() -> Iterator[None]:
    configure_secrets((Fernet.generate_key().decode(),))
    yield


def by_mbox(email: str, verb: str = "passed") -> dict[str, Any]:
    statement = course_statement("unused", verb)
    statement["actor"] = {"objectType": "Agent", "mbox": f"mailto:{email}"}
    return statement


def by_sha1(email: str) -> dict[str, Any]:
    statement = course_statement("unused", "passed")
    sha = hashlib.sha1(f"mailto:{email}".encode()).hexdigest()  # noqa: S324
    statement["actor"] = {"objectType": "Agent", "mbox_sha1sum": sha}
    return statement


def post_apart(client: LrsClient, *batches: list[dict[str, Any]]) -> None:
    """Post batches so each is stored later than the previous one by more than
    the connection's overlap (the gap the shared cursor used to skip)."""
    for batch in batches:
        client.post_statements(batch)
        time.sleep(0.3)


def evidence_per_statement(session: Session, tenant_id: int) -> dict[str, int]:
    rows = session.execute(
        select(Evidence.statement_id, func.count())
        .where(Evidence.tenant_id == tenant_id)
        .group_by(Evidence.statement_id)
    )
    return {str(sid): int(n) for sid, n in rows}


def test_every_statement_is_stored_once_whatever_the_identity_mix(
    db_session: Session,
    lrs: LocalLrs,  # noqa: F811
) -> None:
    world = make_world(db_session, people=0)
    connection = connections.add_connection(
        db_session,
        tenant_id=world.tenant_id,
        name="Test LRS",
        endpoint=lrs.endpoint,
        username="key",
        password="secret",
        actor="test",
        actor_mode="mbox",
        page_size=2,
    )
    row = db_session.get(LrsConnection, connection.id)
    assert row is not None
    row.overlap_s = 0.1
    client = LrsClient(lrs.endpoint, "key", "secret")

    # Before anyone launched: the dual-identity person's email-keyed work is
    # older than their LMS-account statements.
    first = {
        "mail": [by_mbox("mail@example.com"), by_sha1("mail@example.com")],
        "dual_mbox": [by_mbox("dual@example.com") for _ in range(3)]
        + [by_sha1("dual@example.com")],
        "dual_account": [course_statement("dual", "passed") for _ in range(3)],
        "acct": [course_statement("acct", "passed") for _ in range(2)],
    }
    post_apart(
        client, first["mail"], first["dual_mbox"], first["dual_account"], first["acct"]
    )
    before = sync.sync_connection(db_session, connection_id=connection.id)
    assert before.complete, before.error
    assert before.counters["unmatched_actor"] == 11
    assert evidence_per_statement(db_session, world.tenant_id) == {}

    tenant = world.tenant_id
    people = {
        "acct": _person(db_session, tenant, "acct", None),
        "mail": _person(db_session, tenant, "mail-sub", "mail@example.com"),
        "dual": _person(db_session, tenant, "dual", "Dual@Example.com"),
    }
    for person_id in people.values():
        assert pull.pull_learner_statements(
            db_session, person_id=person_id, budget_s=30
        ).complete
    expected = {s["id"] for batch in first.values() for s in batch}
    assert evidence_per_statement(db_session, tenant) == dict.fromkeys(expected, 1)
    assert db_session.scalars(select(UnmatchedActor)).all() == []
    # One cursor per agent query: account, mbox and sha1 for each person with email.
    assert db_session.scalar(select(func.count()).select_from(QueryCursor)) == 7

    # Then the background sync, then new statements of every kind and a pull again.
    second = [course_statement("acct", "failed"), by_mbox("dual@example.com")]
    post_apart(client, second)
    assert sync.sync_connection(db_session, connection_id=connection.id).complete
    third_mbox = [by_mbox("dual@example.com"), by_sha1("mail@example.com")]
    third_account = [course_statement("dual", "failed")]
    post_apart(client, third_mbox, third_account)
    for person_id in people.values():
        assert pull.pull_learner_statements(
            db_session, person_id=person_id, budget_s=30
        ).complete
    expected |= {s["id"] for s in second + third_mbox + third_account}
    assert evidence_per_statement(db_session, tenant) == dict.fromkeys(expected, 1)

    # A last sync adds nothing: everything was stored exactly once.
    last = sync.sync_connection(db_session, connection_id=connection.id)
    assert last.complete
    assert evidence_per_statement(db_session, tenant) == dict.fromkeys(expected, 1)
    owners = dict(
        db_session.execute(select(Evidence.statement_id, Evidence.person_id)).all()
    )
    assert {owners[s["id"]] for s in first["dual_mbox"]} == {people["dual"]}
    assert {owners[s["id"]] for s in first["mail"]} == {people["mail"]}
    assert {owners[s["id"]] for s in first["acct"]} == {people["acct"]}


def test_an_unfinished_query_keeps_its_unknown_actor_record(
    db_session: Session,
    lrs: LocalLrs,  # noqa: F811
) -> None:
    """The unknown-actor record of a query the pull did not finish stays, so the
    bookkeeping never forgets statements that were never fetched."""
    world = make_world(db_session, people=0)
    connection = connections.add_connection(
        db_session,
        tenant_id=world.tenant_id,
        name="Test LRS",
        endpoint=lrs.endpoint,
        username="key",
        password="secret",
        actor="test",
        actor_mode="mbox",
        page_size=1,
    )
    client = LrsClient(lrs.endpoint, "key", "secret")
    client.post_statements(
        [course_statement("late", "passed")]
        + [by_mbox("late@example.com") for _ in range(4)]
    )
    sync.sync_connection(db_session, connection_id=connection.id)
    person_id = _person(db_session, world.tenant_id, "late", "late@example.com")
    ticks = iter(range(1000))
    report = pull.pull_learner_statements(
        db_session, person_id=person_id, budget_s=2.5, clock=lambda: float(next(ticks))
    )
    assert not report.complete
    left = {u.actor_key for u in db_session.scalars(select(UnmatchedActor))}
    assert "mbox:mailto:late@example.com" in left
    assert pull.pull_learner_statements(
        db_session, person_id=person_id, budget_s=30
    ).complete
    assert db_session.scalars(select(UnmatchedActor)).all() == []
    assert len(evidence_per_statement(db_session, world.tenant_id)) == 5


def _person(session: Session, tenant_id: int, sub: str, email: str | None) -> int:
    person = Person(tenant_id=tenant_id, sub=sub, name=sub, email=email)
    session.add(person)
    session.flush()
    return person.id
