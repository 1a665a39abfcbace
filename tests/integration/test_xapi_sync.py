"""Incremental sync from a real LRS into evidence: paging, voiding, duplicates, actors."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from adaptive.models import Activity, Evidence, Skill
from lti_tool.infra.crypto import configure_secrets
from lti_tool.infra.db import session_scope
from lti_tool.infra.models import AuditEntry, Person
from tests.lrs_fixture import LocalLrs, lrs  # noqa: F401 - fixture
from tests.support_env import truncate_all
from tests.support_http import serve_in_thread
from tests.xapi_support import (
    ScriptedLrs,
    Step,
    World,
    code_review_statement,
    course_statement,
    make_world,
    ticket_statement,
    voiding_statement,
)
from xapi import connections, pull, rule_store, sync
from xapi.client import LrsClient
from xapi.core import statements as st
from xapi.models import (
    LrsConnection,
    QuarantinedStatement,
    SyncCursor,
    UnmatchedActor,
)

pytestmark = pytest.mark.lrs


@pytest.fixture(autouse=True)
def _secrets() -> Iterator[None]:
    configure_secrets((Fernet.generate_key().decode(),))
    yield


def connect(session: Session, world: World, endpoint: str, **options: Any) -> int:
    connection = connections.add_connection(
        session,
        tenant_id=world.tenant_id,
        name="Test LRS",
        endpoint=endpoint,
        username="key",
        password="secret",
        actor="test",
        **options,
    )
    return connection.id


def evidence(session: Session, world: World) -> list[Evidence]:
    return list(
        session.scalars(
            select(Evidence)
            .where(Evidence.tenant_id == world.tenant_id)
            .order_by(Evidence.id)
        )
    )


def test_sync_pages_rules_voiding_and_duplicates(
    db_session: Session,
    lrs: LocalLrs,  # noqa: F811
) -> None:
    world = make_world(db_session)
    connection_id = connect(db_session, world, lrs.endpoint, page_size=4)
    client = LrsClient(lrs.endpoint, "key", "secret")
    first_batch = [
        course_statement("u0", "passed"),
        course_statement("u1", "failed"),
        course_statement("u2", "scored", course="python-course", score=0.75),
        code_review_statement("u0"),
        ticket_statement("u1", csat=4),
        course_statement("u0", "experienced"),  # no rule
        course_statement("stranger", "passed"),  # not a known person yet
    ]
    # A statement Pathwise itself emitted earlier: never evidence twice.
    own = st.build_statement(
        st.StatementSpec(
            key="own",
            actor={
                "objectType": "Agent",
                "account": {"homePage": "https://lms.example.edu", "name": "u0"},
            },
            verb="passed",
            object=st.ActivityRef("https://courses.example.com/sql-course", "course"),
            timestamp=dt.datetime.now(dt.UTC),
        )
    )
    client.post_statements([*first_batch, own])
    report = sync.sync_connection(db_session, connection_id=connection_id)
    assert report.complete, report.error
    counters = report.counters
    assert counters["fetched"] - counters["duplicates"] == 8
    assert counters["pages"] >= 2
    assert counters["own"] == 1
    assert counters["unmatched_rule"] == 1
    assert counters["unmatched_actor"] == 1
    rows = evidence(db_session, world)
    by_statement = {(r.statement_id, r.skill_id) for r in rows}
    assert (first_batch[0]["id"], world.skills["sql"]) in by_statement
    review = [r for r in rows if r.statement_id == first_batch[3]["id"]]
    assert {r.skill_id for r in review} == {
        world.skills["code-review"],
        world.skills["python"],
    }
    assert {r.weight for r in review} == {2.0} and {r.level for r in review} == {3}
    ticket = [r for r in rows if r.statement_id == first_batch[4]["id"]]
    assert ticket[0].outcome == pytest.approx(0.75)
    scored = [r for r in rows if r.statement_id == first_batch[2]["id"]][0]
    assert scored.outcome == pytest.approx(0.75)
    assert scored.level == 2
    assert scored.activity_id == world.activity_urls["python-course"]
    assert all(r.source == "xapi" and not r.voided for r in rows)
    count_after_first = len(rows)

    # New statements, a duplicate re-POST of an old one is impossible (same id), so
    # re-sync from the overlap re-reads old ones: they must not double.
    second_batch = [
        course_statement("u2", "passed"),
        voiding_statement(first_batch[0]["id"]),
    ]
    client.post_statements(second_batch)
    again = sync.sync_connection(db_session, connection_id=connection_id)
    assert again.complete
    assert again.counters["voiding"] == 1
    assert again.counters["voided_evidence"] == 1
    rows = evidence(db_session, world)
    assert len(rows) == count_after_first + 1
    voided = [r for r in rows if r.voided]
    assert [r.statement_id for r in voided] == [first_batch[0]["id"]]

    # Forcing the cursor back re-reads everything: ids de-duplicate, evidence stays.
    cursor = db_session.get(SyncCursor, connection_id)
    assert cursor is not None and cursor.last_stored is not None
    cursor.last_stored = None
    cursor.boundary_ids = []
    replay = sync.sync_connection(db_session, connection_id=connection_id)
    assert replay.counters["evidence"] == 0
    assert len(evidence(db_session, world)) == len(rows)
    assert [r.statement_id for r in evidence(db_session, world) if r.voided] == [
        first_batch[0]["id"]
    ]


def test_unknown_person_is_picked_up_at_first_launch(
    db_session: Session,
    lrs: LocalLrs,  # noqa: F811
) -> None:
    world = make_world(db_session)
    connection_id = connect(db_session, world, lrs.endpoint)
    client = LrsClient(lrs.endpoint, "key", "secret")
    history = [
        course_statement("newcomer", "passed"),
        code_review_statement("newcomer"),
    ]
    client.post_statements(history + [course_statement("u0", "passed")])
    sync.sync_connection(db_session, connection_id=connection_id)
    pending = db_session.scalars(select(UnmatchedActor)).all()
    assert [(p.actor_key, p.statements) for p in pending] == [
        ("account:https://lms.example.edu|newcomer", 2)
    ]

    person = Person(tenant_id=world.tenant_id, sub="newcomer", name="New")
    db_session.add(person)
    db_session.flush()
    report = pull.pull_learner_statements(db_session, person_id=person.id, budget_s=5)
    assert report.complete
    mine = db_session.scalars(
        select(Evidence).where(Evidence.person_id == person.id)
    ).all()
    assert {e.statement_id for e in mine} == {s["id"] for s in history}
    assert db_session.scalars(select(UnmatchedActor)).all() == []


def test_launch_pull_stops_at_its_budget_and_resumes(
    db_session: Session,
    lrs: LocalLrs,  # noqa: F811
) -> None:
    world = make_world(db_session)
    connect(db_session, world, lrs.endpoint, page_size=2)
    client = LrsClient(lrs.endpoint, "key", "secret")
    client.post_statements([course_statement("u1", "passed") for _ in range(6)])
    ticks = iter(range(1000))
    report = pull.pull_learner_statements(
        db_session,
        person_id=world.people["u1"],
        budget_s=1.5,
        clock=lambda: float(next(ticks)),
    )
    assert not report.complete
    partial = db_session.scalar(select(func.count()).select_from(Evidence))
    assert 0 < (partial or 0) < 6
    rest = pull.pull_learner_statements(
        db_session, person_id=world.people["u1"], budget_s=30
    )
    assert rest.complete
    assert db_session.scalar(select(func.count()).select_from(Evidence)) == 6


def test_mbox_matching_is_opt_in_per_connection(
    db_session: Session,
    lrs: LocalLrs,  # noqa: F811
) -> None:
    world = make_world(db_session)
    connection_id = connect(db_session, world, lrs.endpoint, actor_mode="mbox")
    statement = course_statement("ignored", "passed")
    statement["actor"] = {"objectType": "Agent", "mbox": "mailto:U2@example.com"}
    hashed = course_statement("ignored", "failed")
    import hashlib

    sha = hashlib.sha1(b"mailto:u1@example.com").hexdigest()  # noqa: S324
    hashed["actor"] = {"objectType": "Agent", "mbox_sha1sum": sha}
    LrsClient(lrs.endpoint, "key", "secret").post_statements([statement, hashed])
    sync.sync_connection(db_session, connection_id=connection_id)
    people = {e.person_id for e in evidence(db_session, world)}
    assert people == {world.people["u2"], world.people["u1"]}


def lenient_page(statements: list[Any], more: str = "") -> Step:
    return Step(
        200,
        {"statements": statements, "more": more},
        {"X-Experience-API-Consistent-Through": "2030-01-01T00:00:00Z"},
    )


def test_odd_statements_are_quarantined_without_stopping_the_sync(
    db_session: Session,
) -> None:
    """Other LRSs return what the strict one refuses to store: xAPI 2.0 statements,
    unknown fields, broken ones. A scripted LRS plays that part."""
    world = make_world(db_session)
    stored = "2026-03-01T10:00:00.000Z"
    v2 = course_statement("u0", "passed")
    v2.update(
        version="2.0.0",
        stored=stored,
        context={
            "contextAgents": [
                {"objectType": "contextAgent", "agent": {"mbox": "mailto:m@x"}}
            ]
        },
    )
    unknown = course_statement("u1", "passed")
    unknown.update(stored=stored, vendorField={"deep": [1, 2]})
    broken_id = dict(course_statement("u1", "passed"), id="not-a-uuid", stored=stored)
    no_stored = course_statement("u2", "passed")
    later = dict(course_statement("u2", "failed"), stored="2026-03-01T10:00:01.000Z")
    app = ScriptedLrs(
        [
            Step(200, {"version": ["1.0.3", "2.0.0"]}),
            lenient_page([v2, unknown, broken_id], more="/xAPI/statements?page=2"),
            lenient_page([], more="xAPI/statements?page=3"),
            lenient_page([no_stored, 42, later, dict(unknown)]),
            lenient_page([later]),  # the closing "anything new?" query
        ]
    )
    with serve_in_thread(app) as base:
        connection_id = connect(db_session, world, base + "/xAPI/")
        report = sync.sync_connection(db_session, connection_id=connection_id)
    assert report.complete
    assert report.counters["malformed"] == 3
    # A re-sent one and the closing re-read: read again, not fetched twice.
    assert report.counters["reread"] == 2
    assert report.counters["duplicates"] == 0
    assert report.counters["fetched"] == 6
    assert report.counters["matched"] == 3
    assert [r.query for r in app.requests[2:4]] == ["page=2", "page=3"]
    assert "since=2026-03-01T10%3A00%3A00.999Z" in app.requests[4].query
    assert app.requests[1].headers["X-Experience-Api-Version"] == "2.0.0"
    reasons = sorted(q.reason for q in db_session.scalars(select(QuarantinedStatement)))
    assert reasons == [
        "missing or invalid id",
        "missing or invalid stored timestamp",
        "not a JSON object",
    ]
    cursor = db_session.get(SyncCursor, connection_id)
    assert cursor is not None
    assert cursor.last_stored == dt.datetime(2026, 3, 1, 10, 0, 1, tzinfo=dt.UTC)


def test_cursor_never_passes_consistent_through(db_session: Session) -> None:
    world = make_world(db_session)
    early = dict(course_statement("u0", "passed"), stored="2026-03-01T10:00:00.000Z")
    late = dict(course_statement("u1", "passed"), stored="2026-03-01T10:05:00.000Z")
    ct = {"X-Experience-API-Consistent-Through": "2026-03-01T10:01:00.000Z"}
    app = ScriptedLrs(
        [
            Step(200, {"version": ["1.0.3"]}),
            Step(200, {"statements": [early, late]}, ct),
            Step(200, {"statements": [late]}, ct),
        ]
    )
    with serve_in_thread(app) as base:
        connection_id = connect(db_session, world, base + "/xAPI/")
        sync.sync_connection(db_session, connection_id=connection_id)
    cursor = db_session.get(SyncCursor, connection_id)
    assert cursor is not None
    assert cursor.last_stored == dt.datetime(2026, 3, 1, 10, 1, tzinfo=dt.UTC)
    # The late one will be re-read next time and must be skipped as already seen.
    assert late["id"] in cursor.boundary_ids


def test_connection_admin_actions_are_audited(
    db_session: Session,
    lrs: LocalLrs,  # noqa: F811
) -> None:
    world = make_world(db_session)
    connection_id = connect(db_session, world, lrs.endpoint)
    result = connections.test_connection(
        db_session, connection_id=connection_id, actor="ann"
    )
    assert result.ok and result.version == "1.0.3"
    bad_id = connect(db_session, world, f"http://127.0.0.1:{lrs.port + 1}/xAPI/")
    failed = connections.test_connection(db_session, connection_id=bad_id, actor="ann")
    assert not failed.ok and "unreachable" in failed.message
    rule_store.import_rules(
        db_session,
        tenant_id=world.tenant_id,
        document=[
            {
                "key": "only-passed",
                "match": {"verb": "http://adlnet.gov/expapi/verbs/passed"},
                "skills": ["sql"],
            }
        ],
        actor="ann",
    )
    assert [
        r.key
        for r in rule_store.load_rules(db_session, tenant_id=world.tenant_id).rules
    ] == ["only-passed"]
    connections.remove_connection(db_session, connection_id=bad_id, actor="ann")
    actions = db_session.scalars(
        select(AuditEntry.action).order_by(AuditEntry.id)
    ).all()
    assert actions == [
        "lrs.add",
        "lrs.test",
        "lrs.add",
        "lrs.test",
        "xapi.rules.import",
        "lrs.remove",
    ]
    stored = db_session.get(LrsConnection, connection_id)
    assert stored is not None and "secret" not in stored.secret_encrypted
    assert stored.password() == "secret"
    assert uuid.UUID(str(uuid.uuid4()))


@pytest.fixture
def committed(engine: Engine) -> Iterator[Engine]:
    """The writer threads use their own connections: these tests commit for real."""
    truncate_all(engine)
    yield engine
    truncate_all(engine)


def _synced(tenant_id: int) -> set[tuple[Any, ...]]:
    with session_scope() as session:
        rows = session.execute(
            select(
                Person.sub,
                Evidence.statement_id,
                Skill.key,
                Evidence.outcome,
                Evidence.weight,
                Evidence.level,
                Activity.url,
                Evidence.rule_key,
                Evidence.occurred_at,
                Evidence.voided,
            )
            .join(Person, Person.id == Evidence.person_id)
            .join(Skill, Skill.id == Evidence.skill_id)
            .outerjoin(Activity, Activity.id == Evidence.activity_id)
            .where(Evidence.tenant_id == tenant_id)
        )
        return {tuple(row) for row in rows}


def test_concurrent_writers_store_what_the_inline_sync_stores(
    committed: Engine,
    lrs: LocalLrs,  # noqa: F811
) -> None:
    """On Postgres a job's sync commits evidence from writer threads (own
    connections) while it judges the next page; the result must not differ."""
    if committed.dialect.name != "postgresql":
        pytest.skip("concurrent evidence writers run on Postgres only")
    with session_scope() as session:
        # Same issuer: both tenants see the same people in the same statements.
        piped, inline = make_world(session), make_world(session, deployment_id="d2")
        assert sync.writer_engine(session, session.commit) is not None
        connection_ids = {
            world.tenant_id: connect(session, world, lrs.endpoint, page_size=3)
            for world in (piped, inline)
        }
    client = LrsClient(lrs.endpoint, "key", "secret")
    early = [course_statement(f"u{i % 3}", "passed") for i in range(7)]
    client.post_statements(
        [*early, code_review_statement("u1"), ticket_statement("u2", csat=5)]
    )
    late = [
        course_statement("stranger", "failed"),
        voiding_statement(early[1]["id"]),  # evidence of the first run
        course_statement("u0", "scored", course="python-course", score=0.4),
    ]

    def sync_both() -> None:
        for world, mode in ((piped, None), (inline, False)):
            with session_scope() as session:
                report = sync.sync_connection(
                    session,
                    connection_id=connection_ids[world.tenant_id],
                    checkpoint=session.commit,
                    concurrent_writes=mode,
                )
            assert report.complete, report.error

    sync_both()
    client.post_statements(late)
    sync_both()
    expected = _synced(inline.tenant_id)
    assert _synced(piped.tenant_id) == expected
    assert len(expected) == 11
    assert {r[1] for r in expected if r[-1]} == {early[1]["id"]}
    with session_scope() as session:
        cursors = [
            session.get(SyncCursor, connection_ids[w.tenant_id])
            for w in (piped, inline)
        ]
        assert cursors[0] is not None and cursors[1] is not None
        assert cursors[0].last_stored == cursors[1].last_stored
        assert cursors[0].boundary_ids == cursors[1].boundary_ids
        assert cursors[0].lease_owner is None
        unmatched = session.scalars(
            select(UnmatchedActor.statements).where(
                UnmatchedActor.connection_id.in_(connection_ids.values())
            )
        ).all()
        assert unmatched == [1, 1]
