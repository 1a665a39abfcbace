"""Evidence from a real LRS attaches to directory people by any listed identity.

Statements name people by LMS account, by mbox, by mbox_sha1sum or by an account on
another system; by default all of them match the directory, a connection can be
restricted, and nothing crosses tenants.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive.models import Evidence
from lti_tool.infra.crypto import configure_secrets
from lti_tool.infra.directory import sha1_value
from lti_tool.infra.directory_import import import_people_csv
from lti_tool.infra.models import Person
from tests.factories import make_person, make_tenant
from tests.lrs_fixture import LocalLrs, lrs  # noqa: F401 - fixture
from tests.xapi_support import World, course_statement, make_world
from xapi import connections, pull, sync
from xapi.client import LrsClient
from xapi.identity import people_with_unmatched_statements, person_actor_keys
from xapi.models import LrsConnection, UnmatchedActor

pytestmark = pytest.mark.lrs

HEADER = "external_id,name,email,lms_sub,department,manager,job_role,accounts\n"


@pytest.fixture(autouse=True)
def _secrets() -> Iterator[None]:
    configure_secrets((Fernet.generate_key().decode(),))
    yield


def connect(session: Session, world: World, endpoint: str, **options: Any) -> int:
    connection = connections.add_connection(
        session,
        tenant_id=world.tenant_id,
        name="Company LRS",
        endpoint=endpoint,
        username="key",
        password="secret",
        actor="test",
        **options,
    )
    return connection.id


def by(actor: dict[str, Any], verb: str = "passed") -> dict[str, Any]:
    statement = course_statement("placeholder", verb)
    statement["actor"] = {"objectType": "Agent", **actor}
    return statement


def evidence_people(session: Session, world: World) -> dict[str, int]:
    return {
        str(e.statement_id): e.person_id
        for e in session.scalars(
            select(Evidence).where(Evidence.tenant_id == world.tenant_id)
        )
    }


def directory(session: Session, world: World) -> dict[str, int]:
    report = import_people_csv(
        session,
        tenant_id=world.tenant_id,
        text=HEADER + "HR-1,Sam Support,sam@acme.example;s.old@acme.example,,Support,,,"
        "https://zendesk.acme.example/|sam.s\n"
        + "HR-2,Ria Review,ria@acme.example,,Engineering,,,\n",
    )
    assert report.ok, report.errors
    return {
        str(p.external_id): p.id
        for p in session.scalars(
            select(Person).where(
                Person.tenant_id == world.tenant_id, Person.external_id.is_not(None)
            )
        )
    }


def test_every_identity_matches_by_default(
    db_session: Session,
    lrs: LocalLrs,  # noqa: F811
) -> None:
    world = make_world(db_session)
    people = directory(db_session, world)
    # Another tenant knows someone with the same email: never matched from here.
    other = make_tenant(db_session)
    make_person(db_session, other, "elsewhere", email="sam@acme.example")
    connection_id = connect(db_session, world, lrs.endpoint)
    statements = {
        "account": course_statement("u0", "passed"),
        "mbox": by({"mbox": "mailto:SAM@acme.example"}),
        "second_email": by({"mbox": "mailto:s.old@acme.example"}),
        "sha1": by({"mbox_sha1sum": sha1_value("ria@acme.example")}),
        # The other system's homePage without the trailing slash the CSV had.
        "other_system": by(
            {"account": {"homePage": "https://zendesk.acme.example", "name": "sam.s"}}
        ),
        "launched_by_email": by({"mbox": "mailto:u1@example.com"}),
        "stranger": by({"mbox": "mailto:nobody@acme.example"}),
    }
    LrsClient(lrs.endpoint, "key", "secret").post_statements(list(statements.values()))

    report = sync.sync_connection(db_session, connection_id=connection_id)

    assert report.complete, report.error
    owners = evidence_people(db_session, world)
    expected = {
        "account": world.people["u0"],
        "mbox": people["HR-1"],
        "second_email": people["HR-1"],
        "sha1": people["HR-2"],
        "other_system": people["HR-1"],
        "launched_by_email": world.people["u1"],
    }
    assert {k: owners.get(statements[k]["id"]) for k in expected} == expected
    assert statements["stranger"]["id"] not in owners
    assert report.counters["unmatched_actor"] == 1
    unknown = db_session.scalars(select(UnmatchedActor.actor_key)).all()
    assert unknown == ["mbox:mailto:nobody@acme.example"]


@pytest.mark.parametrize(
    ("match_on", "matched"),
    [("account", {"account", "other_system"}), ("email", {"mbox", "sha1"})],
)
def test_an_admin_can_restrict_what_is_matched(
    db_session: Session,
    lrs: LocalLrs,  # noqa: F811
    match_on: str,
    matched: set[str],
) -> None:
    world = make_world(db_session)
    directory(db_session, world)
    connection_id = connect(db_session, world, lrs.endpoint)
    connection = db_session.get(LrsConnection, connection_id)
    assert connection is not None
    connection.match_on = match_on
    statements = {
        "account": course_statement("u0", "passed"),
        "mbox": by({"mbox": "mailto:sam@acme.example"}),
        "sha1": by({"mbox_sha1sum": sha1_value("ria@acme.example")}),
        "other_system": by(
            {"account": {"homePage": "https://zendesk.acme.example", "name": "sam.s"}}
        ),
    }
    LrsClient(lrs.endpoint, "key", "secret").post_statements(list(statements.values()))

    sync.sync_connection(db_session, connection_id=connection_id)

    owners = evidence_people(db_session, world)
    assert {k for k, s in statements.items() if s["id"] in owners} == matched


def test_statements_sent_before_the_import_are_pulled_after_it(
    db_session: Session,
    lrs: LocalLrs,  # noqa: F811
) -> None:
    world = make_world(db_session)
    connection_id = connect(db_session, world, lrs.endpoint)
    early = [
        by({"mbox": "mailto:sam@acme.example"}, verb) for verb in ("passed", "failed")
    ]
    LrsClient(lrs.endpoint, "key", "secret").post_statements(early)
    first = sync.sync_connection(db_session, connection_id=connection_id)
    assert first.counters["unmatched_actor"] == 2

    people = directory(db_session, world)
    waiting = people_with_unmatched_statements(
        db_session, world.tenant_id, people.values()
    )
    assert waiting == [people["HR-1"]]
    sam = db_session.get(Person, people["HR-1"])
    connection = db_session.get(LrsConnection, connection_id)
    assert sam is not None and connection is not None
    assert person_actor_keys(db_session, connection, sam)[0] == (
        "mbox:mailto:sam@acme.example"
    )

    report = pull.pull_learner_statements(db_session, person_id=sam.id, budget_s=10)

    assert report.complete
    owners = evidence_people(db_session, world)
    assert {owners.get(s["id"]) for s in early} == {sam.id}
    assert db_session.scalars(select(UnmatchedActor)).all() == []
