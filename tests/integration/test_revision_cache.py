"""The per-process caches behind launches stay exact: any change is seen at the next read."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, event, select, update
from sqlalchemy.orm import Session

from adaptive.next_step import next_step
from adaptive.overrides import set_override
from lti_tool.infra import revision
from lti_tool.infra.models import Deployment, Registration
from lti_tool.lti.tool_conf import DatabaseToolConf, tenant_row
from tests.factories import make_catalogue, make_person, make_registration, make_tenant
from tests.support_env import truncate_all

ISSUER = "https://lms.example.edu"


def _add_registration(session: Session, client_id: str = "client-1") -> Registration:
    registration = make_registration(
        session,
        name="Example LMS",
        issuer=ISSUER,
        client_id=client_id,
        key_set_url=ISSUER + "/jwks",
    )
    make_tenant(session, registration=registration, deployment_id="dep-1", name="d")
    session.commit()
    return registration


@contextmanager
def _queries(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_second_session_reads_registration_from_cache(engine: Engine) -> None:
    try:
        with Session(engine) as session:
            _add_registration(session)
        with Session(engine) as first:
            assert DatabaseToolConf(first).registration_row(ISSUER, "client-1")
        with _queries(engine) as seen, Session(engine) as second:
            row = DatabaseToolConf(second).registration_row(ISSUER, "client-1")
            assert row is not None and row.client_id == "client-1"
            # Attached to this session: get() finds it without SQL.
            assert second.get(Registration, row.id) is row
        assert len(seen) == 1 and "revisions" in seen[0]
    finally:
        truncate_all(engine)


def test_orm_change_in_another_session_is_seen_at_once(engine: Engine) -> None:
    try:
        with Session(engine) as session:
            _add_registration(session)
        with Session(engine) as reader:
            row = DatabaseToolConf(reader).registration_row(ISSUER, "client-1")
            assert row is not None and row.name == "Example LMS"
        with Session(engine) as writer:
            target = writer.scalars(select(Registration)).one()
            target.name = "Renamed LMS"
            writer.commit()
        with Session(engine) as reader:
            row = DatabaseToolConf(reader).registration_row(ISSUER, "client-1")
            assert row is not None and row.name == "Renamed LMS"
    finally:
        truncate_all(engine)


def test_bulk_update_and_deactivation_are_seen(engine: Engine) -> None:
    try:
        with Session(engine) as session:
            registration = _add_registration(session)
            registration_id = registration.id
        with Session(engine) as reader:
            tenant = tenant_row(reader, registration_id, "dep-1")
            assert tenant is not None and tenant.active
        with Session(engine) as writer:
            writer.execute(update(Deployment).values(active=False))
            writer.commit()
        with Session(engine) as reader:
            tenant = tenant_row(reader, registration_id, "dep-1")
            assert tenant is not None and not tenant.active
            conf = DatabaseToolConf(reader)
            assert conf.find_deployment_by_params(ISSUER, "dep-1", "client-1") is None
    finally:
        truncate_all(engine)


def test_rolled_back_change_never_reaches_the_cache(engine: Engine) -> None:
    try:
        with Session(engine) as session:
            _add_registration(session)
        with Session(engine) as writer:
            target = writer.scalars(select(Registration)).one()
            target.name = "Never committed"
            writer.flush()
            # Read inside the uncommitted transaction: must not be cached for others.
            row = DatabaseToolConf(writer).registration_row(ISSUER, "client-1")
            assert row is not None and row.name == "Never committed"
            writer.rollback()
        with Session(engine) as reader:
            row = DatabaseToolConf(reader).registration_row(ISSUER, "client-1")
            assert row is not None and row.name == "Example LMS"
    finally:
        truncate_all(engine)


def test_unknown_issuer_is_cached_until_a_platform_is_added(engine: Engine) -> None:
    try:
        with Session(engine) as session:
            _add_registration(session)
        with Session(engine) as reader:
            assert DatabaseToolConf(reader).registration_row(ISSUER, "other") is None
        with Session(engine) as session:
            _add_registration(session, "other")
        with Session(engine) as reader:
            assert DatabaseToolConf(reader).registration_row(ISSUER, "other")
    finally:
        truncate_all(engine)


def test_without_a_revision_row_nothing_is_cached(engine: Engine) -> None:
    try:
        with Session(engine) as session:
            _add_registration(session)
            session.execute(revision.Revision.__table__.delete())
            session.commit()
        calls: list[int] = []
        cache = revision.RevisionCache(revision.CONFIG)
        for _ in range(2):
            with Session(engine) as session:
                cache.get(session, "k", lambda: calls.append(1) or len(calls))
        assert calls == [1, 1]
    finally:
        truncate_all(engine)


def test_a_managers_override_reaches_the_next_page_in_any_process(
    engine: Engine,
) -> None:
    """Learners without overrides skip the lookup; a new override is seen at once."""
    import datetime as dt

    now = dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC)
    try:
        with Session(engine) as session:
            tenant = make_tenant(session, "paths")
            catalogue = make_catalogue(session, None)
            person = make_person(session, tenant, "learner-paths")
            ids = (tenant.id, person.id, catalogue["module"].id)
            pinned = catalogue["acts"]["refresher-b"].id
            session.commit()
        tid, pid, mid = ids
        with Session(engine) as session:
            step = next_step(
                session, tenant_id=tid, person_id=pid, module_id=mid, now=now
            )
            assert step.reason.code != "pinned"
        with _queries(engine) as seen, Session(engine) as session:
            next_step(session, tenant_id=tid, person_id=pid, module_id=mid, now=now)
        assert not [q for q in seen if "path_overrides" in q or "learner_roles" in q]
        with Session(engine) as manager:
            set_override(
                manager,
                tenant_id=tid,
                person_id=pid,
                kind="pin",
                actor="manager:1",
                module_id=mid,
                activity_id=pinned,
                now=now,
            )
            manager.commit()
        with Session(engine) as session:
            step = next_step(
                session, tenant_id=tid, person_id=pid, module_id=mid, now=now
            )
            assert step.activity_id == pinned and step.reason.code == "pinned"
    finally:
        truncate_all(engine)
