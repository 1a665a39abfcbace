"""The learner's placement and path pages and the API data they show, after real launches.

Real parts: the development LMS signs the launches, the demo catalogue is the module,
the answers go through ``/api/v1`` with the bearer token the page carries, and the
pages are fetched as the browser fetches them (a POST carrying the token).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from adaptive.demo_seed import seed_demo
from adaptive.models import (
    Activity,
    ActivitySkill,
    ModuleActivity,
    PlacementSession,
    Skill,
)
from adaptive.module_snapshots import load_module
from adaptive.overrides import set_override
from adaptive.placement_sessions import STOP_SKIPPED
from lti_tool.devplatform.model import INSTRUCTOR, LEARNER
from lti_tool.infra.db import session_scope
from lti_tool.infra.models import Person
from tests.factories import make_catalogue
from tests.lti_platform import LtiHarness, bearer, launch_token


@pytest.fixture
def demo(lti: LtiHarness) -> LtiHarness:
    """The demo catalogue: the LMS's first link names its module."""
    with session_scope() as session:
        seed_demo(session)
    return lti


@pytest.fixture
def placeable(lti: LtiHarness) -> LtiHarness:
    """A small catalogue whose placement check can place a skill at the target.

    Two skills at target level 1 (B needs A) with lessons, worked examples, quizzes
    and refreshers (``make_catalogue``), plus five placement questions on A. The
    module takes the key the LMS's first link names.
    """
    with session_scope() as session:
        cat = make_catalogue(session, None, key="ops")
        module = cat["module"]
        module.key = "ai-readiness-everyone"
        module.placement_budget = 6
        for i in range(5):
            item = Activity(
                framework_id=cat["framework"].id,
                key=f"place-a-{i}",
                title=f"Placement {i}",
                kind="placement_item",
                duration_min=1.0,
                content={
                    "questions": [
                        {"prompt": f"P{i}", "options": ["a", "b", "c"], "answer": 0}
                    ]
                },
            )
            session.add(item)
            session.flush()
            session.add(
                ActivitySkill(
                    activity_id=item.id, skill_id=cat["a"].id, weight=1.0, level=1
                )
            )
            session.add(
                ModuleActivity(
                    module_id=module.id, activity_id=item.id, position=50 + i
                )
            )
    return lti


def _client(lti: LtiHarness) -> FlaskClient:
    assert lti.tool.app is not None
    return lti.tool.app.test_client()


def _launch(lti: LtiHarness, user: Any = LEARNER) -> tuple[str, str]:
    """A real launch: the page it lands on (its own URL) and its launch token."""
    run = lti.do_launch(user)
    assert run.status == 200, run.text[:1000]
    token = launch_token(run.text)
    for url in ("/app/placement", "/app/path", "/app/home"):
        if f'data-page-url="{url}"' in run.text:
            return url, token
    raise AssertionError(run.text[:2000])


def _right_answer(ref: str, tenant_id: int, module_id: int) -> Any:
    with session_scope() as session:
        snapshot = load_module(session, tenant_id=tenant_id, module_id=module_id)
        return snapshot.questions[ref]["answer"]


def _ids(sub: str = LEARNER.sub) -> tuple[int, int]:
    with session_scope() as session:
        person = session.scalars(select(Person).where(Person.sub == sub)).one()
        return person.tenant_id, person.id


def _module_id(client: FlaskClient, token: str) -> int:
    with session_scope() as session:
        placement = session.scalars(select(PlacementSession)).first()
        assert placement is not None
        return placement.module_id


def _placement_all_right(client: FlaskClient, token: str) -> dict[str, Any]:
    headers = bearer(token)
    view = client.post("/api/v1/placement", headers=headers).json
    tenant_id, _ = _ids()
    module_id = _module_id(client, token)
    while not view["done"]:
        ref = view["question"]["ref"]
        answer = client.post(
            "/api/v1/placement/answers",
            headers=headers,
            json={
                "client_id": str(uuid.uuid4()),
                "ref": ref,
                "answer": _right_answer(ref, tenant_id, module_id),
            },
        )
        assert answer.status_code == 200, answer.json
        view = answer.json
    return dict(view)


def test_a_first_launch_lands_on_the_placement_check_then_on_the_path(
    demo: LtiHarness,
) -> None:
    lti = demo
    client = _client(lti)
    url, token = _launch(lti)
    assert url == "/app/placement"
    page = client.post("/app/placement", data={"lt": token}).text
    assert 'data-state="intro"' in page
    assert "Start from the beginning" in page
    assert client.get("/api/v1/me/path", headers=bearer(token)).json["placement_wanted"]
    started = client.post("/api/v1/placement", headers=bearer(token)).json
    # The page shows the pending question as it stands, with the progress line.
    page = client.post("/app/placement", data={"lt": token}).text
    assert "Question 1 of at most 8" in page
    assert started["question"]["prompt"] in page
    # Still not finished: the next launch resumes the check.
    assert _launch(lti)[0] == "/app/placement"
    _placement_all_right(client, token)
    assert _launch(lti)[0] == "/app/path"


def test_skipping_the_check_is_idempotent_and_recorded(demo: LtiHarness) -> None:
    lti = demo
    client = _client(lti)
    _, token = _launch(lti)
    first = client.post("/api/v1/placement/skip", headers=bearer(token))
    assert first.status_code == 200, first.json
    assert first.json["done"] and first.json["summary"]["skipped"]
    assert first.json["summary"]["placed"] == []
    assert "start from the beginning" in first.json["summary"]["text"]
    again = client.post("/api/v1/placement/skip", headers=bearer(token)).json
    assert again == first.json
    # Opening the check afterwards resumes the skipped one: nothing new is asked.
    assert client.post("/api/v1/placement", headers=bearer(token)).json == first.json
    with session_scope() as session:
        rows = session.scalars(select(PlacementSession)).all()
        assert [(r.stop_code, r.finished_at is not None) for r in rows] == [
            (STOP_SKIPPED, True)
        ]
    path = client.get("/api/v1/me/path", headers=bearer(token)).json
    assert path["placement_wanted"] is False
    assert _launch(lti)[0] == "/app/path"
    instructor = client.post(
        "/api/v1/placement/skip", headers=bearer(_launch(lti, INSTRUCTOR)[1])
    )
    assert (instructor.status_code, instructor.json["error"]) == (403, "learner_only")


def test_the_summary_names_the_skills_placed_and_the_minutes_saved(
    placeable: LtiHarness,
) -> None:
    lti = placeable
    client = _client(lti)
    _, token = _launch(lti)
    done = _placement_all_right(client, token)
    summary = done["summary"]
    assert summary["skipped"] is False
    # Alerts is placed; Blameless reviews had only the weaker cross-skill evidence.
    assert summary["placed"] == [
        {
            "skill_id": summary["placed"][0]["skill_id"],
            "name": "Alerts",
            "level_name": "Aware",
        }
    ]
    # Its lesson (8 min) and worked example (6 min): the quiz still runs as the
    # short check, and refreshers come after mastery anyway.
    assert summary["minutes_saved"] == 14.0
    assert summary["text"] == (
        "You already show Alerts at your role's level: we skip it "
        "(about 14 minutes saved). A short check confirms it."
    )
    names = ["Alerts"]
    path = client.get("/api/v1/me/path", headers=bearer(token)).json
    by_name = {e["name"]: e for e in path["path"]}
    for name in names:
        entry = by_name[name]
        assert (entry["kind"], entry["evidence_source"]) == ("skipped", "placement")
        assert entry["reason"].startswith(
            f"skipped: you showed {name} in the placement check"
        )
    # The finished page shows the same summary, server-side.
    page = client.post("/app/placement", data={"lt": token}).text
    assert 'data-state="done"' in page
    assert summary["text"].replace("'", "&#39;") in page


def _wrong_answers(key: str) -> list[Any]:
    """A wrong answer to every question of activity ``key`` (from its answer key)."""
    with session_scope() as session:
        activity = session.scalars(select(Activity).where(Activity.key == key)).one()
        questions = (activity.content or {}).get("questions", [])
    out: list[Any] = []
    for q in questions:
        right = q.get("answer")
        if isinstance(right, int):
            out.append((right + 1) % max(len(q.get("options") or []), 2))
        elif isinstance(right, list):
            out.append([])
        else:
            out.append("certainly not this")
    return out


def test_wrong_answers_bring_a_different_explanation(demo: LtiHarness) -> None:
    lti = demo
    client = _client(lti)
    _, token = _launch(lti)
    headers = bearer(token)
    client.post("/api/v1/placement/skip", headers=headers)
    codes: list[str] = []
    path: dict[str, Any] = {}
    for _ in range(6):
        path = client.get("/api/v1/me/path", headers=headers).json
        if any(e["kind"] == "alternative" for e in path["path"]):
            break
        key = path["next_step"]["activity_key"]
        attempt = client.post(
            "/api/v1/attempts",
            headers=headers,
            json={
                "client_id": str(uuid.uuid4()),
                "activity_key": key,
                "responses": _wrong_answers(key),
            },
        )
        assert attempt.status_code == 200, attempt.json
        codes.append(attempt.json["next_step"]["reason_code"])
    entries = [e for e in path["path"] if e["kind"] == "alternative"]
    assert entries, (codes, path["path"])
    assert entries[0]["reason"].startswith("a different explanation: the last")
    assert entries[0]["evidence_source"] == "attempts"


def test_a_managers_override_shows_with_its_note(demo: LtiHarness) -> None:
    lti = demo
    client = _client(lti)
    _, token = _launch(lti)
    tenant_id, person_id = _ids()
    with session_scope() as session:
        skill = session.scalars(
            select(Skill).where(Skill.key == "research-assistants")
        ).one()
        set_override(
            session,
            tenant_id=tenant_id,
            person_id=person_id,
            kind="skip_skill",
            actor="lti:manager",
            skill_id=skill.id,
            note="You research for the team already.",
        )
    path = client.get("/api/v1/me/path", headers=bearer(token)).json
    [review] = path["reviews"]
    assert review["note"] == "You research for the team already."
    assert review["what"].startswith("Your manager set ")
    entry = next(e for e in path["path"] if e["kind"] == "skipped")
    assert entry["evidence_source"] == "manager"
    assert "your manager set" in entry["reason"]
    page = client.post("/app/path", data={"lt": token}).text
    assert "Reviewed by your manager" in page
    assert "You research for the team already." in page


@pytest.fixture
def contentless(lti: LtiHarness) -> LtiHarness:
    """A module whose role targets a skill the catalogue has nothing for (a defect)."""
    with session_scope() as session:
        cat = make_catalogue(session, None, key="ops")
        module = cat["module"]
        module.key = "ai-readiness-everyone"
        module.placement_budget = 0
        for activity in cat["acts"].values():
            session.delete(activity)
    return lti


def test_a_path_blocked_by_the_catalogue_says_so_and_the_instructor_sees_why(
    contentless: LtiHarness,
) -> None:
    lti = contentless
    client = _client(lti)
    url, token = _launch(lti)
    assert url == "/app/path"  # no placement question to ask
    path = client.get("/api/v1/me/path", headers=bearer(token)).json
    assert path["state"] == "blocked", path["next_step"]
    page = client.post("/app/path", data={"lt": token}).text
    assert 'data-end="blocked"' in page
    assert "Your path is paused" in page
    manager = lti.do_launch(INSTRUCTOR).text
    assert "Paths blocked by the catalogue" in manager
    assert "Alerts has no assessment at level 1" in manager
    assert "Ada Lovelace" in manager


def test_reaching_the_targets_ends_the_path_with_the_refresher_plan(
    placeable: LtiHarness,
) -> None:
    lti = placeable
    client = _client(lti)
    _, token = _launch(lti)
    headers = bearer(token)
    _placement_all_right(client, token)
    path: dict[str, Any] = {}
    for _ in range(16):
        path = client.get("/api/v1/me/path", headers=headers).json
        if path["state"] != "learning":
            break
        key = path["next_step"]["activity_key"]
        with session_scope() as session:
            activity = session.scalars(
                select(Activity).where(Activity.key == key)
            ).one()
            rights = [
                q["answer"] for q in (activity.content or {}).get("questions", [])
            ]
        attempt = client.post(
            "/api/v1/attempts",
            headers=headers,
            json={
                "client_id": str(uuid.uuid4()),
                "activity_key": key,
                "responses": rights,
            },
        )
        assert attempt.status_code == 200, attempt.json
    assert path["state"] == "targets_met", path["next_step"]
    plan = path["refresher_plan"]
    assert {p["name"] for p in plan} == {"Alerts", "Blameless reviews"}
    assert [p["due"] for p in plan] == sorted(p["due"] for p in plan)
    page = client.post("/app/path", data={"lt": token}).text
    assert "You have reached the level your role needs" in page
    assert (
        f'Next refresher on <time datetime="{plan[0]["due"]}">{plan[0]["when"]}</time>: {plan[0]["name"]}'
        in page
    )
    assert all(e["kind"] in {"skipped", "done"} for e in path["path"]), path["path"]
