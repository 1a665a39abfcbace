"""The manager's pages (capability, a learner's review, overrides, mentors) after real launches.

Real parts: the development LMS signs every launch, the demo catalogue is the link's
module, the launch token travels as a POST field as the pages send it. A colleague
is put at target by writing their learner model through the learner store (the
engine's own persistence), as evidence would.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from adaptive.core.learner_types import SkillState
from adaptive.demo_seed import seed_demo
from adaptive.learner_store import load_learner, save_skill
from adaptive.mentor_models import MentorPairing
from adaptive.models import PathOverride
from adaptive.module_snapshots import load_module
from lti_tool.devplatform.model import INSTRUCTOR, LEARNER, SampleUser
from lti_tool.devplatform.vocabulary import DEMO_COURSE_ID, ROLE_LEARNER
from lti_tool.infra.db import session_scope, utcnow
from lti_tool.infra.models import AuditEntry, Launch, Person, ResourceLink
from tests.live_servers import register_tool
from tests.lti_platform import LtiHarness, bearer, launch_token

MENTOR = SampleUser(
    sub="dev-user-katherine",
    name="Katherine Johnson",
    given_name="Katherine",
    family_name="Johnson",
    email="katherine.johnson@example.com",
    roles=(ROLE_LEARNER,),
    label="mentor",
)
NOVICE = SampleUser(
    sub="dev-user-bob",
    name="Bob Novice",
    given_name="Bob",
    family_name="Novice",
    email="bob@example.com",
    roles=(ROLE_LEARNER,),
    label="novice",
)


@dataclass
class Course:
    client: FlaskClient
    origin: str
    manager: str  # the instructor's launch token
    learner: str  # Ada's launch token
    ada: int
    mentor: int
    bob: int
    module_id: int
    tenant_id: int


def _person(sub: str, tenant_id: int) -> int:
    with session_scope() as session:
        return int(
            session.scalars(
                select(Person.id).where(
                    Person.sub == sub, Person.tenant_id == tenant_id
                )
            ).one()
        )


def _at_top_level(person_id: int, tenant_id: int, module_id: int) -> None:
    """Store a learner model that is sure of the top level on every module skill."""
    with session_scope() as session:
        snapshot = load_module(session, tenant_id=tenant_id, module_id=module_id)
        n = snapshot.catalog.n_levels
        state = load_learner(
            session, tenant_id=tenant_id, person_id=person_id, n_levels=n
        )
        probs = np.full(n, 0.001)
        probs[-1] = 1.0 - 0.001 * (n - 1)
        for skill_id in snapshot.catalog.skills:
            state.model.states[skill_id] = SkillState(
                probs=probs.copy(),
                updated_at=utcnow(),
                n_evidence=12,
                weight_evidence=12.0,
            )
            save_skill(session, state, skill_id, evidence_at=utcnow())


@pytest.fixture
def course(lti: LtiHarness) -> Course:
    with session_scope() as session:
        seed_demo(session)
    for user in (MENTOR, NOVICE):
        lti.platform.add_user(user, course_id=DEMO_COURSE_ID)
    learner = launch_token(lti.do_launch(LEARNER).text)
    lti.do_launch(MENTOR)
    lti.do_launch(NOVICE)
    manager = launch_token(lti.do_launch(INSTRUCTOR).text)
    with session_scope() as session:
        launch = session.scalars(
            select(Launch).order_by(Launch.id.desc()).limit(1)
        ).one()
        link = session.get(ResourceLink, launch.resource_link_pk)
        assert link is not None and link.module_id is not None
        module_id, tenant_id = link.module_id, launch.tenant_id
    mentor = _person(MENTOR.sub, tenant_id)
    _at_top_level(mentor, tenant_id, module_id)
    assert lti.tool.app is not None
    return Course(
        client=lti.tool.app.test_client(),
        origin=lti.tool.url,
        manager=manager,
        learner=learner,
        ada=_person(LEARNER.sub, tenant_id),
        mentor=mentor,
        bob=_person(NOVICE.sub, tenant_id),
        module_id=module_id,
        tenant_id=tenant_id,
    )


def _post(c: Course, url: str, token: str, **fields: Any) -> TestResponse:
    return c.client.post(
        url, data={"lt": token, **fields}, headers={"Origin": c.origin}
    )


def _page(c: Course, url: str, token: str | None = None) -> str:
    answer = c.client.post(url, data={"lt": token or c.manager})
    assert answer.status_code == 200, answer.text[:2000]
    return answer.text


def _count(model: Any, **where: Any) -> int:
    with session_scope() as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return int(session.scalar(query) or 0)


def _audits(action: str) -> list[AuditEntry]:
    with session_scope() as session:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.action == action)
        ).all()
        session.expunge_all()
        return list(rows)


def _options(page: str, select_id: str) -> list[tuple[str, str]]:
    """A select's (value, label) pairs, in order."""
    block = page.split(f'id="{select_id}"', 1)[1].split("</select>", 1)[0]
    found = re.findall(r'<option value="(\d+)"[^>]*>([^<]*)</option>', block)
    assert found, block[:300]
    return [(value, html.unescape(label)) for value, label in found]


def _option(page: str, select_id: str) -> str:
    return _options(page, select_id)[0][0]


def test_capability_page_shows_the_share_at_target_with_counts(course: Course) -> None:
    page = _page(course, "/app/manage")

    rows = re.findall(r'data-field="at-target">(\d+) of (\d+)<', page)
    assert rows, page[:3000]
    # Only the mentor is at target, on every skill; Ada and Bob are not.
    assert {int(hits) for hits, _ in rows} == {1}
    assert all(int(n) >= 3 for _, n in rows)
    # The chart: one bar per skill, each with the text of what it shows.
    bars = re.findall(
        r'data-field="bar-text">[^<]+: (\d+) of (\d+) at [^<]+ \((\d+)%\)', page
    )
    expected = [(h, n, str(round(100 * int(h) / int(n)))) for h, n in rows]
    assert sorted(bars) == sorted(expected)
    assert page.count('<rect class="bar"') == len(rows)
    # Per learner: their level against the target, in the framework's level names.
    ada_row = page.split(f'data-person="{course.ada}"', 1)[1].split("</tr>", 1)[0]
    assert "(target " in ada_row and "Below target" in ada_row
    mentor_row = page.split(f'data-person="{course.mentor}"', 1)[1].split("</tr>")[0]
    assert "Builds it for others" in mentor_row and "At target" in mentor_row
    assert "lt=" not in page.replace('name="lt"', "")


def test_learner_review_shows_skills_next_step_and_the_managers_reason(
    course: Course,
) -> None:
    page = _page(course, f"/app/manage/learner/{course.ada}")

    assert "Ada Lovelace" in page
    assert 'data-table="skills"' in page
    reason = page.split('data-field="manager-reason"', 1)[1].split("</p>", 1)[0]
    assert re.search(r'data-code="\w+"><strong>Why:</strong> \S', reason)
    # The mentor is suggested for Ada's skills below target; Bob is not.
    assert f'data-candidate="{course.mentor}"' in page
    assert f'data-candidate="{course.bob}"' not in page


def test_pin_shows_with_its_note_and_author_and_revoke_withdraws_it(
    course: Course,
) -> None:
    url = f"/app/manage/learner/{course.ada}"
    activity, title = _options(_page(course, url), "pin-activity")[-1]

    answer = _post(
        course,
        url + "/overrides",
        course.manager,
        kind="pin",
        activity_id=activity,
        note="Do the incident drill first",
    )

    assert answer.status_code == 303
    assert answer.headers["Location"] == f"{url}?done=pin"
    page = _page(course, f"{url}?done=pin")
    assert 'data-field="done"' in page
    listed = page.split('data-kind="pin"', 1)[1].split("</li>", 1)[0]
    assert "Do the incident drill first" in listed and "by Grace Hopper" in listed
    # The engine now puts the pinned activity next.
    api = course.client.get("/api/v1/me/path", headers=bearer(course.learner))
    assert api.json["next_step"]["title"] == title, api.json
    audit = _audits("path_override.pin")
    assert len(audit) == 1 and audit[0].target == f"person:{course.ada}"
    assert audit[0].details["note"] == "Do the incident drill first"

    override_id = re.search(r'data-override="(\d+)" data-kind="pin"', page)
    assert override_id
    revoked = _post(
        course, f"{url}/overrides/{override_id.group(1)}/revoke", course.manager
    )

    assert revoked.status_code == 303
    assert 'data-kind="pin"' not in _page(course, url)
    assert len(_audits("path_override.revoke")) == 1
    assert _count(PathOverride, person_id=course.ada) == 1  # kept for the record


def test_skip_and_target_change_reach_the_learner_path(course: Course) -> None:
    url = f"/app/manage/learner/{course.ada}"
    page = _page(course, url)
    (skill, _), (other, _) = _options(page, "skip-skill")[:2]

    assert (
        _post(
            course,
            url + "/overrides",
            course.manager,
            kind="skip_skill",
            skill_id=skill,
        ).status_code
        == 303
    )
    assert (
        _post(
            course,
            url + "/overrides",
            course.manager,
            kind="set_target",
            skill_id=other,
            level="5",
        ).status_code
        == 303
    )

    path = course.client.get("/api/v1/me/path", headers=bearer(course.learner)).json
    rows = {str(s["skill_id"]): s for s in path["skills"]}
    assert rows[skill]["status"] == "skipped"
    assert rows[other]["target"] == 5
    assert rows[other]["target_name"].startswith("Builds it for others")
    page = _page(course, url)
    assert 'data-kind="skip_skill"' in page and 'data-kind="set_target"' in page


def test_reviewed_is_recorded_with_its_note_and_changes_no_decision(
    course: Course,
) -> None:
    url = f"/app/manage/learner/{course.ada}"
    before = course.client.get("/api/v1/me/path", headers=bearer(course.learner))

    answer = _post(
        course,
        url + "/overrides",
        course.manager,
        kind="reviewed",
        note="Path looks right for the on-call rota",
    )

    assert answer.status_code == 303
    after = course.client.get("/api/v1/me/path", headers=bearer(course.learner))
    assert after.json["next_step"] == before.json["next_step"]
    assert after.json["skills"] == before.json["skills"]
    page = _page(course, url)
    assert "Path looks right for the on-call rota" in page
    assert len(_audits("path_override.reviewed")) == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "pin", "activity_id": "999999"}, "not in this module"),
        ({"kind": "set_target", "skill_id": "999999", "level": "2"}, "not in this"),
        ({"kind": "reviewed", "note": ""}, "Say what you reviewed"),
        ({"kind": "launch_missiles"}, "Choose what to change"),
        ({"kind": "pin", "activity_id": "x"}, "Choose an activity"),
    ],
)
def test_bad_input_is_refused_clearly_and_keeps_what_was_typed(
    course: Course, fields: dict[str, str], message: str
) -> None:
    note = "Typed with care & kept"
    answer = _post(
        course,
        f"/app/manage/learner/{course.ada}/overrides",
        course.manager,
        **{"note": note, **fields},
    )

    assert answer.status_code == 400
    assert message in answer.text and 'data-field="error"' in answer.text
    if fields.get("kind") in {"pin", "set_target"} and fields.get("note", note):
        assert "Typed with care &amp; kept" in answer.text
    assert _count(PathOverride, person_id=course.ada) == 0
    assert _audits(f"path_override.{fields['kind']}") == []


def test_a_mentor_at_target_is_paired_shown_and_unpaired(course: Course) -> None:
    url = f"/app/manage/learner/{course.ada}"
    page = _page(course, url)
    skill = re.search(r'data-mentors-for="(\d+)"', page)
    assert skill, page[:3000]

    answer = _post(
        course,
        url + "/mentors",
        course.manager,
        skill_id=skill.group(1),
        mentor_id=str(course.mentor),
    )

    assert answer.status_code == 303
    assert "Mentor Katherine Johnson on" in _page(course, url)
    capability = _page(course, "/app/manage")
    assert "Ada Lovelace with mentor Katherine Johnson on" in capability
    created = _audits("mentor_pairing.create")
    assert len(created) == 1 and created[0].details["mentor_id"] == course.mentor
    # A second pairing of the same two on the same skill is refused, not doubled.
    again = _post(
        course,
        url + "/mentors",
        course.manager,
        skill_id=skill.group(1),
        mentor_id=str(course.mentor),
    )
    assert again.status_code == 400 and "already paired" in again.text

    pairing = re.search(r'data-pairing="(\d+)"', _page(course, url))
    assert pairing
    ended = _post(course, f"{url}/mentors/{pairing.group(1)}/revoke", course.manager)

    assert ended.status_code == 303
    assert "Mentor Katherine Johnson on" not in _page(course, url)
    assert len(_audits("mentor_pairing.revoke")) == 1
    assert _count(MentorPairing, learner_id=course.ada) == 1  # kept for the record


def test_a_colleague_below_target_cannot_be_paired_as_mentor(course: Course) -> None:
    url = f"/app/manage/learner/{course.ada}"
    skill = re.search(r'data-mentors-for="(\d+)"', _page(course, url))
    assert skill

    answer = _post(
        course,
        url + "/mentors",
        course.manager,
        skill_id=skill.group(1),
        mentor_id=str(course.bob),
    )

    assert answer.status_code == 400
    assert "not at the learner's target" in html.unescape(answer.text)
    assert _count(MentorPairing) == 0


def _manager_routes(c: Course, person_id: int) -> list[tuple[str, str]]:
    app = c.client.application
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/app/manage"):
            continue
        url = (
            rule.rule.replace("<int:person_id>", str(person_id))
            .replace("<int:override_id>", "1")
            .replace("<int:pairing_id>", "1")
        )
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((method, url))
    return out


def test_a_learners_token_is_refused_on_every_manager_route(course: Course) -> None:
    routes = _manager_routes(course, course.ada)
    assert len(routes) == 8

    for method, url in routes:
        if method == "GET":
            answer = course.client.get(url, headers=bearer(course.learner))
        else:
            answer = _post(course, url, course.learner, kind="reviewed", note="x")
        assert answer.status_code == 403, (method, url, answer.status_code)
        assert 'data-reason="forbidden"' in answer.text
    assert _count(PathOverride) == 0


def test_a_change_posted_from_another_site_is_refused(course: Course) -> None:
    answer = course.client.post(
        f"/app/manage/learner/{course.ada}/overrides",
        data={"lt": course.manager, "kind": "reviewed", "note": "forged"},
        headers={"Sec-Fetch-Site": "cross-site"},
    )

    assert answer.status_code == 403
    assert 'data-reason="cross_site_request"' in answer.text
    assert _count(PathOverride) == 0


def test_a_page_view_writes_nothing_and_a_bare_get_shows_no_one(
    course: Course,
) -> None:
    bare = course.client.get(f"/app/manage/learner/{course.ada}")
    assert bare.status_code == 200 and "Ada" not in bare.text
    assert "data-resume-url" in bare.text
    audits = _count(AuditEntry)
    _page(course, f"/app/manage/learner/{course.ada}")
    _page(course, "/app/manage")
    assert _count(AuditEntry) == audits


def test_a_manager_of_another_tenant_never_sees_or_changes_this_tenants_learner(
    lti: LtiHarness, course: Course
) -> None:
    reviewed = _post(
        course,
        f"/app/manage/learner/{course.ada}/overrides",
        course.manager,
        kind="reviewed",
        note="Tenant A's note",
    )
    assert reviewed.status_code == 303
    with session_scope() as session:
        override_id = session.scalars(select(PathOverride.id)).one()
    register_tool(lti.lms, lti.tool.url, client_id="second-client", deployment_id="b")
    other = launch_token(lti.browser("second-client").launch(INSTRUCTOR).text)

    learner_url = f"/app/manage/learner/{course.ada}"
    for method, url in _manager_routes(course, course.ada):
        if method == "GET":
            answer = course.client.get(url, headers=bearer(other))
        else:
            real = url.replace("/overrides/1/", f"/overrides/{override_id}/")
            answer = _post(course, real, other, kind="reviewed", note="B's note")
        # Tenant B has its own people (its roster may name an Ada of its own).
        assert f'data-person="{course.ada}"' not in answer.text
        assert "Tenant A" not in answer.text
        if url == "/app/manage":
            assert answer.status_code == 200
        else:
            assert answer.status_code == 404, (method, url, answer.status_code)
    assert _count(PathOverride) == 1
    with session_scope() as session:
        row = session.get(PathOverride, override_id)
        assert row is not None and row.revoked_at is None
    # And tenant A's manager cannot reach tenant B's instructor by id either.
    with session_scope() as session:
        b_person = session.scalars(
            select(Person.id).where(
                Person.sub == INSTRUCTOR.sub, Person.tenant_id != course.tenant_id
            )
        ).one()
    assert (
        course.client.post(
            f"/app/manage/learner/{b_person}", data={"lt": course.manager}
        ).status_code
        == 404
    )
    assert learner_url  # the route under test above
