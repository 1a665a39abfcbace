"""The learner API (/api/v1) after a real signed launch through the development LMS.

Real parts: the development LMS signs the launches, the demo catalogue is the module,
the bearer token is the one the learner page's meta tag carries.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient
from openapi_spec_validator import validate
from sqlalchemy import Engine, delete, func, select

from adaptive.demo_seed import seed_demo
from adaptive.models import Attempt, PlacementSession
from adaptive.placement_sessions import STOP_SKIPPED
from adaptive.submission_models import ClientSubmission
from lti_tool.devplatform.model import INSTRUCTOR, LEARNER, SampleUser
from lti_tool.devplatform.vocabulary import (
    CLAIM_CONTEXT,
    DEMO_COURSE_ID,
    ROLE_LEARNER,
)
from lti_tool.infra.db import session_scope
from lti_tool.infra.models import Person
from tests.live_servers import register_tool
from tests.lrs_fixture import LocalLrs, lrs  # noqa: F401 - fixture
from tests.lti_platform import LtiHarness, bearer, launch_token
from xapi import connections
from xapi.jobs import send_pending_statements
from xapi.models import OUTBOX_DELIVERED, OutboxStatement

API_ROUTES = (
    ("GET", "/api/v1/me/path"),
    ("POST", "/api/v1/placement"),
    ("POST", "/api/v1/placement/skip"),
    ("POST", "/api/v1/placement/answers"),
    ("GET", "/api/v1/activities/{key}"),
    ("POST", "/api/v1/activities/{key}/xapi-launch"),
    ("POST", "/api/v1/attempts"),
    ("POST", "/api/v1/time-budget"),
)


def learner(sub: str) -> SampleUser:
    return SampleUser(
        sub=sub,
        name=f"Learner {sub}",
        given_name="Learner",
        family_name=sub,
        email=f"{sub}@example.com",
        roles=(ROLE_LEARNER,),
        label=sub,
    )


@pytest.fixture(autouse=True)
def _demo_catalogue(lti: LtiHarness) -> None:
    """The demo links name their module; with the catalogue in, launches resolve it."""
    with session_scope() as session:
        seed_demo(session)


def _client(lti: LtiHarness) -> FlaskClient:
    assert lti.tool.app is not None
    return lti.tool.app.test_client()


def _token(lti: LtiHarness, user: SampleUser = LEARNER, **claims: Any) -> str:
    run = lti.do_launch(user, **claims)
    assert run.status == 200, run.text[:1000]
    return launch_token(run.text)


def _first_activity(client: FlaskClient, token: str) -> str:
    path = client.get("/api/v1/me/path", headers=bearer(token))
    assert path.status_code == 200, path.json
    key = path.json["next_step"]["activity_key"]
    assert key, path.json
    return str(key)


def _attempt(client: FlaskClient, token: str, key: str, client_id: str) -> Any:
    return client.post(
        "/api/v1/attempts",
        headers=bearer(token),
        json={
            "client_id": client_id,
            "activity_key": key,
            "responses": [0],
            "minutes": 4,
        },
    )


def _count(model: Any, person_sub: str) -> int:
    with session_scope() as session:
        person = session.scalars(select(Person).where(Person.sub == person_sub)).one()
        return int(
            session.scalar(
                select(func.count())
                .select_from(model)
                .where(model.person_id == person.id)
            )
            or 0
        )


def test_openapi_document_is_valid_and_names_every_api_route(lti: LtiHarness) -> None:
    client = _client(lti)
    document = client.get("/api/openapi.json").json
    validate(document)
    assert document["openapi"].startswith("3.1")
    assert lti.tool.app is not None
    for rule in lti.tool.app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = rule.rule.replace("<key>", "{key}")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            assert method.lower() in document["paths"][path], (method, path)
    listed = {(m.upper(), p) for p, ops in document["paths"].items() for m in ops}
    assert listed == set(API_ROUTES)


def test_a_learner_walks_placement_activity_and_attempt(lti: LtiHarness) -> None:
    client = _client(lti)
    token = _token(lti)
    headers = bearer(token)

    path = client.get("/api/v1/me/path", headers=headers).json
    assert path["target_role"]
    assert path["skills"] and {"level_name", "target_name", "uncertainty"} <= set(
        path["skills"][0]
    )
    assert path["minutes_left"]["low"] <= path["minutes_left"]["high"]
    assert path["next_step"]["reason"]

    placement = client.post("/api/v1/placement", headers=headers)
    assert placement.status_code == 200, placement.json
    again = client.post("/api/v1/placement", headers=headers).json
    assert again["placement_id"] == placement.json["placement_id"]  # resumed
    view = placement.json
    asked = 0
    while not view["done"]:
        question = view["question"]
        body = {
            "client_id": str(uuid.uuid4()),
            "ref": question["ref"],
            "answer": question["options"][0] if question["options"] else "",
        }
        answer = client.post("/api/v1/placement/answers", headers=headers, json=body)
        assert answer.status_code == 200, answer.json
        # A retry of the same answer is the same answer, recorded once.
        retry = client.post("/api/v1/placement/answers", headers=headers, json=body)
        assert retry.json == answer.json
        view = answer.json
        asked += 1
        assert view["asked"] == asked <= view["budget"]

    key = _first_activity(client, token)
    activity = client.get(f"/api/v1/activities/{key}", headers=headers)
    assert activity.status_code == 200, activity.json
    for q in activity.json["questions"]:
        assert "answer" not in q and "explanation" not in q

    client_id = str(uuid.uuid4())
    first = _attempt(client, token, key, client_id)
    assert first.status_code == 200, first.json
    assert first.json["next_step"]["reason"]
    double = _attempt(client, token, key, client_id)
    assert double.json == first.json
    assert _count(Attempt, LEARNER.sub) == 1
    assert _count(ClientSubmission, LEARNER.sub) == asked + 1

    budget = client.post("/api/v1/time-budget", headers=headers, json={"minutes": 10})
    assert budget.status_code == 200, budget.json
    assert budget.json["next_step"]["minutes"] <= 10 or (
        budget.json["next_step"]["kind"] == "stop"
    )
    assert client.get("/api/v1/me/path", headers=headers).json["time_budget_min"] == 10


def test_bad_requests_are_json_with_a_reason(lti: LtiHarness) -> None:
    client = _client(lti)
    token = _token(lti)
    assert client.get("/api/v1/me/path").json["error"] == "no_token"
    answer = client.get("/api/v1/me/path", headers=bearer("not-a-token"))
    assert (answer.status_code, answer.json["error"]) == (401, "bad_launch_token")
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    in_url = client.get(f"/api/v1/me/path?lt={token}")
    assert (in_url.status_code, in_url.json["error"]) == (400, "token_in_url")
    form = client.post("/api/v1/placement", data={"lt": token})
    assert (form.status_code, form.json["error"]) == (401, "no_token")
    bad = client.post(
        "/api/v1/attempts", headers=bearer(token), json={"client_id": "x"}
    )
    assert (bad.status_code, bad.json["error"]) == (422, "invalid_request")
    client.post("/api/v1/placement", headers=bearer(token))
    stale = client.post(
        "/api/v1/placement/answers",
        headers=bearer(token),
        json={"client_id": str(uuid.uuid4()), "ref": "0:none", "answer": "a"},
    )
    assert (stale.status_code, stale.json["error"]) == (409, "not_pending")
    unknown = client.get("/api/v1/activities/no-such", headers=bearer(token))
    assert (unknown.status_code, unknown.json["error"]) == (404, "no_activity")
    for method, rule in API_ROUTES:
        url = rule.replace("{key}", "any")
        instructor = client.open(
            url, method=method, headers=bearer(_token(lti, INSTRUCTOR)), json={}
        )
        assert (instructor.status_code, instructor.json["error"]) == (
            403,
            "learner_only",
        ), (method, url)


def _journey(client: FlaskClient, token: str) -> dict[str, Any]:
    """Every endpoint once with ``token``; what it answered."""
    headers = bearer(token)
    placement = client.post("/api/v1/placement", headers=headers).json
    question = placement["question"]
    answered = client.post(
        "/api/v1/placement/answers",
        headers=headers,
        json={"client_id": SHARED_ID, "ref": question["ref"], "answer": "x"},
    ).json
    skipped = client.post("/api/v1/placement/skip", headers=headers).json
    key = _first_activity(client, token)
    return {
        "path": client.get("/api/v1/me/path", headers=headers).json,
        "placement": placement,
        "answered": answered,
        "skipped": skipped,
        "activity": client.get(f"/api/v1/activities/{key}", headers=headers).json,
        "attempt": _attempt(client, token, key, SHARED_ATTEMPT_ID).json,
        "budget": client.post(
            "/api/v1/time-budget", headers=headers, json={"minutes": 20}
        ).json,
    }


SHARED_ID = "0e6b2f43-61a0-4b38-9c55-2a1f62c0e001"
SHARED_ATTEMPT_ID = "0e6b2f43-61a0-4b38-9c55-2a1f62c0e002"


def test_no_read_or_write_crosses_to_another_learner(lti: LtiHarness) -> None:
    client = _client(lti)
    register_tool(lti.lms, lti.tool.url, client_id="second-client", deployment_id="b")
    ada = _token(lti)
    mine = _journey(client, ada)
    ada_path = client.get("/api/v1/me/path", headers=bearer(ada)).json
    bob = lti.platform.add_user(learner("dev-user-bob"), course_id=DEMO_COURSE_ID)
    cy = lti.platform.add_user(learner("dev-user-cy"))
    others = {
        "same course": _token(lti, bob),
        "other course": _token(
            lti,
            cy,
            claims={
                CLAIM_CONTEXT: {"id": "other-course", "label": "OC", "title": "Other"}
            },
        ),
        "other tenant": launch_token(lti.browser("second-client").launch(LEARNER).text),
    }
    for who, token in others.items():
        theirs = _journey(client, token)
        # The same client ids name their own submissions, never Ada's answers.
        assert (
            theirs["placement"]["placement_id"] != mine["placement"]["placement_id"]
        ), who
        assert theirs["attempt"]["attempt_id"] != mine["attempt"]["attempt_id"], who
        assert theirs["answered"]["asked"] == 1, who
        assert theirs["skipped"]["placement_id"] == theirs["placement"]["placement_id"]
    # Each of the four has their own placement with one answer and one attempt:
    # Ada's data is as she left it, and nobody wrote into hers.
    with session_scope() as session:
        placements = session.scalars(select(PlacementSession)).all()
        assert len({p.person_id for p in placements}) == len(placements) == 4
        assert all(len(p.asked) == 1 for p in placements)
        # Each skipped their own check, after their one answer.
        assert all(p.stop_code == STOP_SKIPPED for p in placements)
        attempts = session.scalars(select(Attempt)).all()
        assert sorted(a.person_id for a in attempts) == sorted(
            p.person_id for p in placements
        )
    after = client.get("/api/v1/me/path", headers=bearer(ada)).json
    assert after["skills"] == ada_path["skills"]
    assert after["time_budget_min"] == 20


def test_the_strict_lrs_accepts_every_kind_of_journey_statement(
    lti: LtiHarness,
    lrs: LocalLrs,  # noqa: F811 - pytest fixture
) -> None:
    client = _client(lti)
    token = _token(lti)
    with session_scope() as session:
        person = session.scalars(select(Person).where(Person.sub == LEARNER.sub)).one()
        connections.add_connection(
            session,
            tenant_id=person.tenant_id,
            name="Company LRS",
            endpoint=lrs.endpoint,
            username="pathwise",
            password="secret",
            actor="test",
        )
        session.execute(delete(OutboxStatement))  # the launch's recommendation
    headers = bearer(token)
    view = client.post("/api/v1/placement", headers=headers).json
    while not view["done"]:
        question = view["question"]
        view = client.post(
            "/api/v1/placement/answers",
            headers=headers,
            json={
                "client_id": str(uuid.uuid4()),
                "ref": question["ref"],
                "answer": question["options"][-1] if question["options"] else "",
            },
        ).json
    key = _first_activity(client, token)
    assert _attempt(client, token, key, str(uuid.uuid4())).status_code == 200

    # Delivery is kicked after each commit; whatever is still due goes now.
    send_pending_statements()
    with session_scope() as session:
        sent = session.scalars(select(OutboxStatement)).all()
        verbs = {s.verb for s in sent}
        ids = [s.statement_id for s in sent]
        statuses = {(s.verb, s.status, s.last_error) for s in sent}
    assert {"answered", "completed", "recommended"} <= verbs
    assert verbs & {"passed", "failed"}
    assert {status for _, status, _ in statuses} == {OUTBOX_DELIVERED}, statuses
    for statement_id in ids:
        stored = requests.get(
            lrs.endpoint + "statements",
            params={"statementId": statement_id},
            headers={"X-Experience-API-Version": "1.0.3"},
            auth=("pathwise", "secret"),
            timeout=10,
        )
        assert stored.status_code == 200, stored.text
        context = stored.json()["context"]
        assert context["registration"]
        [grouping] = context["contextActivities"]["grouping"]
        assert grouping["id"].endswith("/lti/contexts/" + DEMO_COURSE_ID)
        result = stored.json().get("result", {})
        if stored.json()["verb"]["id"].endswith(("/passed", "/failed")):
            assert "score" in result and "success" in result
            assert result["duration"] == "PT4M" or result["duration"].startswith("PT")


@pytest.mark.postgres
def test_a_double_click_records_one_attempt(lti: LtiHarness, engine: Engine) -> None:
    """Two concurrent posts of one submission, over real HTTP: one attempt, one answer."""
    if engine.dialect.name != "postgresql":
        pytest.skip("the SQLite test engine shares one connection across threads")
    client = _client(lti)
    token = _token(lti)
    key = _first_activity(client, token)
    body = {"client_id": str(uuid.uuid4()), "activity_key": key, "responses": [0]}

    def post() -> Any:
        return requests.post(
            lti.tool.url + "/api/v1/attempts",
            json=body,
            headers=bearer(token),
            timeout=30,
        )

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda _: post(), range(2)))
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    assert answers[0].json() == answers[1].json()
    assert _count(Attempt, LEARNER.sub) == 1
