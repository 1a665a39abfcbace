"""The people directory through the real signed LTI flow of the development LMS.

An instructor's launch queues the course roster sync (NRPS: paged, with a stored
access token); a first launch links to the person's directory entry (by email or
LIS person_sourcedid) and never duplicates it; the manager page lists roster
members and direct reports with their evidence before they launch.
"""

from __future__ import annotations

import datetime as dt

import pytest
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import Engine, func, select

from adaptive.models import Activity, ActivitySkill, Evidence
from lti_tool.devplatform.model import INSTRUCTOR, LEARNER, SampleUser
from lti_tool.devplatform.overrides import DROP
from lti_tool.devplatform.vocabulary import CLAIM_LIS, CLAIM_NRPS, ROLE_LEARNER
from lti_tool.infra.config import Settings
from lti_tool.infra.db import session_scope
from lti_tool.infra.models import (
    AuditEntry,
    Course,
    Deployment,
    Enrolment,
    Person,
    Registration,
    ResourceLink,
)
from lti_tool.infra.queue import QUEUE_SYNC, job_queue
from lti_tool.infra.store import DatabaseStore
from lti_tool.lti.nrps import StoredTokenConnector, sync_roster
from lti_tool.lti.roster_jobs import sync_course_roster
from lti_tool.lti.tool_conf import to_lti_registration
from lti_tool.usecases.people import import_people
from tests.factories import make_framework, make_person, make_skill, make_tenant
from tests.live_servers import LivePlatform, LiveTool, register_tool, running_tool
from tests.lrs_fixture import LocalLrs, lrs  # noqa: F401 - fixture
from tests.lti_browser import LtiBrowser
from tests.lti_platform import LtiHarness, assert_learner_page, assert_manager_page
from tests.support_env import truncate_all
from tests.xapi_support import course_statement
from xapi import connections, sync
from xapi.client import LrsClient
from xapi.models import UnmatchedActor

COURSE = "dev-course-101"
HEADER = "external_id,name,email,lms_sub,department,manager,job_role,accounts\n"


def extra_member(index: int) -> SampleUser:
    return SampleUser(
        sub=f"dev-user-extra-{index}",
        name=f"Extra Learner {index}",
        given_name="Extra",
        family_name=f"Learner {index}",
        email=f"extra{index}@example.com",
        roles=(ROLE_LEARNER,),
        label=f"extra{index}",
    )


def tenant_id() -> int:
    with session_scope() as session:
        found = session.scalar(select(Deployment.id))
        assert found is not None
        return found


def people_by_sub() -> dict[str | None, Person]:
    with session_scope() as session:
        rows = list(session.scalars(select(Person)))
        session.expunge_all()
    return {p.sub: p for p in rows}


def known_tenant(lti: LtiHarness) -> None:
    """An instructor launch without the roster claim: the tenant exists, the
    directory holds only the instructor."""
    assert_manager_page(lti.do_launch(INSTRUCTOR, claims={CLAIM_NRPS: DROP}))


def import_csv(text: str) -> None:
    with session_scope() as session:
        report = import_people(
            session, tenant_id=tenant_id(), text=text, dry_run=False, actor="test"
        )
        assert report.ok, report.errors


def test_instructor_launch_fills_the_directory_from_the_roster(
    lti: LtiHarness,
) -> None:
    for index in range(4):
        lti.platform.add_user(extra_member(index), course_id=COURSE)

    run = lti.do_launch(INSTRUCTOR)
    assert_manager_page(run)

    people = people_by_sub()
    expected = {m.sub for m in (LEARNER, INSTRUCTOR)} | {
        extra_member(i).sub for i in range(4)
    }
    assert expected <= set(people)
    extra = people["dev-user-extra-2"]
    assert (extra.name, extra.email, extra.source) == (
        "Extra Learner 2",
        "extra2@example.com",
        "roster",
    )
    assert extra.last_seen_at is None
    with session_scope() as session:
        roles = dict(
            session.execute(
                select(Person.sub, Enrolment.role)
                .join(Enrolment, Enrolment.person_id == Person.id)
                .join(Course, Course.id == Enrolment.course_id)
                .where(Course.context_id == COURSE)
            ).all()
        )
    assert roles[INSTRUCTOR.sub] == "instructor"
    assert roles["dev-user-extra-0"] == "learner"

    # The roster member's first launch is the same person, now seen.
    assert_learner_page(lti.do_launch(LEARNER))
    after = people_by_sub()
    assert after[LEARNER.sub].id == people[LEARNER.sub].id
    assert after[LEARNER.sub].last_seen_at is not None
    assert len(after) == len(people)

    # The instructor's next page lists members who have not launched yet.
    page = lti.do_launch(INSTRUCTOR).text
    assert "Extra Learner 3" in page and "Not launched yet" in page


def test_roster_sync_follows_pages_and_reuses_its_token(lti: LtiHarness) -> None:
    for index in range(5):
        lti.platform.add_user(extra_member(index), course_id=COURSE)
    assert_learner_page(lti.do_launch(LEARNER))
    # HR knew one member before the LMS told us: the roster links, never duplicates.
    import_csv(HEADER + "HR-0,Extra (HR),EXTRA0@example.com,,Sales,,,\n")
    with session_scope() as session:
        link = session.scalar(select(ResourceLink))
        registration = session.get(Registration, lti.tool.registration_id)
        assert link is not None and registration is not None
        connector = StoredTokenConnector(
            to_lti_registration(session, registration), DatabaseStore(session)
        )
        first = sync_roster(
            session, resource_link=link, connector=connector, page_size=2
        )
        second = sync_roster(
            session, resource_link=link, connector=connector, page_size=3
        )
        total = session.scalar(select(func.count()).select_from(Person))

    members = len(lti.platform.courses[COURSE].member_subs)
    assert first.members == second.members == members
    assert first.pages == -(-members // 2) and second.pages == -(-members // 3)
    assert (first.created, first.linked) == (members - 2, 1)
    assert (second.created, second.linked) == (0, 0)
    assert connector.token_requests == 1  # the second sync used the stored token
    assert total == members
    linked = people_by_sub()["dev-user-extra-0"]
    assert (linked.external_id, linked.department) == ("HR-0", "Sales")


def test_an_admin_roster_sync_is_audited(lti: LtiHarness) -> None:
    lti.platform.add_user(extra_member(0), course_id=COURSE)
    assert_manager_page(lti.do_launch(INSTRUCTOR))
    with session_scope() as session:
        link_id = session.scalar(select(ResourceLink.id))
    assert link_id is not None
    result = sync_course_roster(link_id, force=True, actor="cli:ada")
    assert result["members"] >= 2
    with session_scope() as session:
        entry = session.scalar(
            select(AuditEntry).where(AuditEntry.action == "people.roster_synced")
        )
        assert entry is not None
        assert (entry.actor, entry.tenant_id) == ("cli:ada", tenant_id())
        assert entry.details is not None and entry.details["members"] >= 2


def test_first_launch_links_to_the_imported_entry_by_email(lti: LtiHarness) -> None:
    known_tenant(lti)
    with session_scope() as session:
        before = session.scalar(select(func.count()).select_from(Person))
    import_csv(HEADER + f"HR-1,Ada (HR),{LEARNER.email.upper()},,Research,,Analyst,\n")
    imported = {p.external_id: p for p in people_by_sub().values()}["HR-1"]
    assert imported.sub is None

    assert_learner_page(lti.do_launch(LEARNER))

    people = people_by_sub()
    ada = people[LEARNER.sub]
    assert ada.id == imported.id
    assert (ada.external_id, ada.department) == ("HR-1", "Research")
    assert ada.last_seen_at is not None
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Person)) == before + 1


def test_first_launch_links_by_lis_sourcedid_when_no_email_is_sent(
    lti: LtiHarness,
) -> None:
    known_tenant(lti)
    import_csv(HEADER + "HR-7,Ada by HR id,,,,,,\n")

    run = lti.do_launch(
        LEARNER, claims={"email": DROP, CLAIM_LIS: {"person_sourcedid": "HR-7"}}
    )
    assert_learner_page(run)

    ada = people_by_sub()[LEARNER.sub]
    assert ada.external_id == "HR-7"
    assert len([p for p in people_by_sub().values() if p.external_id]) == 1


def test_linking_never_crosses_tenants(lti: LtiHarness) -> None:
    known_tenant(lti)
    with session_scope() as session:
        other = make_tenant(session)
        stranger = make_person(session, other, None, email=LEARNER.email)
        stranger.sub = None
        other_id, stranger_id = other.id, stranger.id

    assert_learner_page(lti.do_launch(LEARNER))

    with session_scope() as session:
        ada = session.scalar(select(Person).where(Person.sub == LEARNER.sub))
        kept = session.get(Person, stranger_id)
        assert ada is not None and kept is not None
        assert ada.id != stranger_id and ada.tenant_id != other_id
        assert kept.sub is None


def test_manager_page_shows_team_evidence_before_they_launch(lti: LtiHarness) -> None:
    assert_manager_page(lti.do_launch(INSTRUCTOR))
    import_csv(
        HEADER
        + f"T-1,Tess Teammate,tess@example.com,,Support,{INSTRUCTOR.email},Agent,\n"
    )
    with session_scope() as session:
        tess = session.scalar(select(Person).where(Person.external_id == "T-1"))
        assert tess is not None
        framework = make_framework(session, "support", tenant_id=tess.tenant_id)
        skill = make_skill(session, framework, "tickets")
        for n in range(3):
            session.add(
                Evidence(
                    tenant_id=tess.tenant_id,
                    person_id=tess.id,
                    skill_id=skill.id,
                    outcome=1.0,
                    source="xapi",
                    statement_id=f"s-{n}",
                    occurred_at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
                )
            )
        other = make_tenant(session)
        outsider = make_person(session, other, "outsider", name="Outside Olga")
        outsider.manager_id = None
        tess_id = tess.id

    page = lti.do_launch(INSTRUCTOR).text

    row = page[page.index(f'data-person="{tess_id}"') :].split("</tr>")[0]
    assert "Tess Teammate" in row and "team" in row
    assert '<td data-field="evidence">3</td>' in row
    assert "Not launched yet" in row
    assert "Outside Olga" not in page


@pytest.mark.redis
def test_with_redis_the_roster_sync_is_queued_not_run_in_the_launch(
    settings: Settings, engine: Engine, lms: LivePlatform, redis_url: str
) -> None:
    connection = Redis.from_url(redis_url)
    try:
        with running_tool(settings.with_overrides(redis_url=redis_url), engine) as (
            url,
            app,
        ):
            tool = LiveTool(
                url=url,
                app=app,
                settings=app.extensions["pathwise.settings"],
                registration_id=register_tool(lms, url),
            )
            assert_manager_page(LtiBrowser(lms, tool).launch(INSTRUCTOR))
            queue = Queue(QUEUE_SYNC, connection=connection)
            assert [j.func_name for j in queue.jobs] == [
                "lti_tool.lti.roster_jobs.sync_course_roster"
            ]
            assert LEARNER.sub not in people_by_sub()  # not synced inside the launch

            SimpleWorker([queue], connection=connection).work(burst=True)

            assert LEARNER.sub in people_by_sub()
            assert people_by_sub()[LEARNER.sub].source == "roster"
    finally:
        job_queue.configure(None)
        connection.close()
        truncate_all(engine)


@pytest.mark.lrs
def test_roster_members_get_the_statements_the_lrs_sent_before(
    lti: LtiHarness,
    lrs: LocalLrs,  # noqa: F811 - fixture
) -> None:
    member = lti.platform.add_user(extra_member(0), course_id=COURSE)
    known_tenant(lti)
    tenant = tenant_id()
    with session_scope() as session:
        framework = make_framework(session, "data", tenant_id=tenant)
        skill = make_skill(session, framework, "sql")
        activity = Activity(
            framework_id=framework.id,
            key="sql-course",
            title="SQL",
            url="https://courses.example.com/sql-course",
        )
        session.add(activity)
        session.flush()
        session.add(ActivitySkill(activity_id=activity.id, skill_id=skill.id, level=2))
        connection_id = connections.add_connection(
            session,
            tenant_id=tenant,
            name="Company LRS",
            endpoint=lrs.endpoint,
            username="key",
            password="secret",
            actor="test",
        ).id
    early = course_statement(member.sub, "passed")
    early["actor"]["account"]["homePage"] = lti.platform.issuer
    LrsClient(lrs.endpoint, "key", "secret").post_statements([early])
    with session_scope() as session:
        report = sync.sync_connection(session, connection_id=connection_id)
    assert report.counters["unmatched_actor"] == 1

    assert_manager_page(lti.do_launch(INSTRUCTOR))  # roster sync, then the pull

    with session_scope() as session:
        person = session.scalar(select(Person).where(Person.sub == member.sub))
        assert person is not None and person.last_seen_at is None
        owners = {
            e.statement_id: e.person_id
            for e in session.scalars(
                select(Evidence).where(Evidence.tenant_id == tenant)
            )
        }
        assert session.scalars(select(UnmatchedActor)).all() == []
    assert owners == {early["id"]: person.id}
