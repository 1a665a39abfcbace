"""External xAPI activities after a real signed launch: the launch URL and the LRS facade.

Real parts: the development LMS signs the launch, the demo catalogue (with one
``xapi`` activity added through the catalogue import) is the module, and the
strict LRS (Learning Locker's xapi-statements) receives what the facade forwards.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select

from adaptive.catalogue_import import import_catalogue
from adaptive.core.catalogue_parse import parse_catalogue
from adaptive.demo_seed import demo_catalogue_text
from adaptive.models import Activity, Attempt
from lti_tool.devplatform.model import INSTRUCTOR, LEARNER, SampleUser
from lti_tool.devplatform.vocabulary import DEMO_COURSE_ID
from lti_tool.infra.db import session_scope
from lti_tool.infra.models import Person
from tests.lrs_fixture import LocalLrs, lrs  # noqa: F401 - fixture
from tests.lti_platform import LtiHarness, bearer, launch_token
from xapi import connections
from xapi.facade import ContentGrant, issue_content_auth
from xapi.jobs import send_pending_statements
from xapi.models import OUTBOX_DELIVERED, OutboxStatement

CONTENT_URL = "https://content.example.com/phishing/index.html?lang=en"
ACTIVITY_IRI = "https://content.example.com/activities/phishing-sim"
XAPI_KEY = "phishing-simulation"
LRS_PASSWORD = "org-lrs-secret-never-in-a-browser"
VERSION = {"X-Experience-API-Version": "1.0.3"}


@pytest.fixture(autouse=True)
def _catalogue_with_xapi_content(lti: LtiHarness) -> None:
    """The demo catalogue plus one external xAPI activity in each module."""
    data = json.loads(demo_catalogue_text())
    data["activities"].append(
        {
            "key": XAPI_KEY,
            "title": "Phishing simulation",
            "type": "xapi",
            "duration_min": 10,
            "url": CONTENT_URL,
            "activity_id": ACTIVITY_IRI,
            "skills": [{"skill": "safe-use", "level": 2}],
            "content": {"markdown": "A simulated inbox: spot the phish."},
        }
    )
    for module in data["modules"]:
        module["activities"].append(XAPI_KEY)
    doc = parse_catalogue(json.dumps(data), source_name="demo+xapi.json")
    with session_scope() as session:
        import_catalogue(session, doc=doc, tenant_id=None, actor="test")


def _client(lti: LtiHarness) -> FlaskClient:
    assert lti.tool.app is not None
    return lti.tool.app.test_client()


def _token(lti: LtiHarness, user: SampleUser = LEARNER) -> str:
    run = lti.do_launch(user)
    assert run.status == 200, run.text[:1000]
    return launch_token(run.text)


def _launch(client: FlaskClient, token: str) -> dict[str, Any]:
    answer = client.post(
        f"/api/v1/activities/{XAPI_KEY}/xapi-launch", headers=bearer(token)
    )
    assert answer.status_code == 200, answer.json
    url = urlsplit(answer.json["url"])
    params = {k: v[0] for k, v in parse_qs(url.query).items()}
    return {"answer": answer.json, "url": url, "params": params}


def _statement(params: dict[str, str], **overrides: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "actor": json.loads(params["actor"]),
        "verb": {"id": "http://adlnet.gov/expapi/verbs/passed"},
        "object": {"objectType": "Activity", "id": params["activity_id"]},
        "result": {"success": True, "score": {"scaled": 0.9}, "completion": True},
        "context": {"registration": params["registration"]},
        "timestamp": "2026-03-01T09:00:00.000Z",
    }
    statement.update(overrides)
    return statement


def _facade(params: dict[str, str]) -> dict[str, str]:
    return {"Authorization": params["auth"], **VERSION}


def _attempts(sub: str) -> int:
    with session_scope() as session:
        person = session.scalars(select(Person).where(Person.sub == sub)).one()
        return int(
            session.scalar(
                select(func.count())
                .select_from(Attempt)
                .where(Attempt.person_id == person.id)
            )
            or 0
        )


def test_the_launch_url_follows_the_xapi_launch_convention(lti: LtiHarness) -> None:
    client = _client(lti)
    token = _token(lti)
    with session_scope() as session:
        person = session.scalars(select(Person).where(Person.sub == LEARNER.sub)).one()
        connections.add_connection(
            session,
            tenant_id=person.tenant_id,
            name="Company LRS",
            endpoint="http://127.0.0.1:9/xapi/",
            username="org-key",
            password=LRS_PASSWORD,
            actor="test",
        )
    launched = _launch(client, token)
    url, params = launched["url"], launched["params"]
    assert (url.scheme, url.netloc, url.path) == (
        "https",
        "content.example.com",
        "/phishing/index.html",
    )
    assert params["lang"] == "en"  # the content's own query is kept
    assert params["endpoint"] == lti.tool.url + "/xapi/lrs/"
    assert params["activity_id"] == ACTIVITY_IRI
    path = client.get("/api/v1/me/path", headers=bearer(token)).json
    assert params["registration"] == path["registration"]
    actor = json.loads(params["actor"])
    assert actor["account"]["name"] == LEARNER.sub
    # The organisation's LRS credentials never reach the browser: the auth is ours.
    scheme, _, encoded = params["auth"].partition(" ")
    user, _, secret = base64.b64decode(encoded).decode().partition(":")
    assert (scheme, user) == ("Basic", "pathwise")
    assert LRS_PASSWORD not in launched["answer"]["url"]
    assert "org-key" not in launched["answer"]["url"]
    assert secret != token  # not the launch token either
    assert "%20" in launched["answer"]["url"] and "+" not in url.query

    lesson = client.get("/api/v1/me/path", headers=bearer(token)).json["next_step"]
    not_xapi = client.post(
        f"/api/v1/activities/{lesson['activity_key']}/xapi-launch",
        headers=bearer(token),
    )
    assert (not_xapi.status_code, not_xapi.json["error"]) == (409, "not_xapi")
    instructor = client.post(
        f"/api/v1/activities/{XAPI_KEY}/xapi-launch",
        headers=bearer(_token(lti, INSTRUCTOR)),
    )
    assert (instructor.status_code, instructor.json["error"]) == (403, "learner_only")
    preflight = client.options(
        "/xapi/lrs/statements",
        headers={
            "Origin": "https://content.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]


def test_the_facade_forwards_the_learners_statements_and_records_the_outcome_once(
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
    params = _launch(client, token)["params"]
    headers = _facade(params)

    # Progress inside the content (not an outcome of the activity): forwarded only.
    page = _statement(
        params,
        verb={"id": "http://adlnet.gov/expapi/verbs/experienced"},
        object={"objectType": "Activity", "id": ACTIVITY_IRI + "/inbox"},
        result={"completion": False},
    )
    del page["id"]  # as most content sends it: the facade names it
    posted = client.post("/xapi/lrs/statements", headers=headers, json=page)
    assert posted.status_code == 200, posted.json
    [page_id] = posted.json
    assert _attempts(LEARNER.sub) == 0

    passed = _statement(params)
    # UUIDs are case-blind: an upper-case registration is the launch's.
    passed["context"] = {"registration": params["registration"].upper()}
    first = client.post("/xapi/lrs/statements", headers=headers, json=[passed])
    assert first.status_code == 200, first.json
    assert first.json == [passed["id"]]
    assert _attempts(LEARNER.sub) == 1
    with session_scope() as session:
        [attempt] = session.scalars(select(Attempt)).all()
        activity = session.get(Activity, attempt.activity_id)
        assert activity is not None and activity.key == XAPI_KEY
        assert attempt.score == pytest.approx(0.9)  # the content's score.scaled
    # The content's retry (POST again, or PUT under its id) records nothing more.
    again = client.post("/xapi/lrs/statements", headers=headers, json=[passed])
    assert again.status_code == 200, again.json
    put = client.put(
        f"/xapi/lrs/statements?statementId={passed['id']}", headers=headers, json=passed
    )
    assert put.status_code == 204, put.json
    assert _attempts(LEARNER.sub) == 1
    changed = dict(passed, result={"success": False, "score": {"scaled": 0.1}})
    conflict = client.put(
        f"/xapi/lrs/statements?statementId={passed['id']}",
        headers=headers,
        json=changed,
    )
    assert (conflict.status_code, conflict.json["error"]) == (409, "conflict")

    # Another actor, another registration, a malformed statement: refused, unsaved.
    someone = _statement(
        params,
        actor={
            "objectType": "Agent",
            "account": {
                "homePage": json.loads(params["actor"])["account"]["homePage"],
                "name": "someone-else",
            },
        },
    )
    other_reg = _statement(params, context={"registration": str(uuid.uuid4())})
    invalid = _statement(params, verb={"id": "not an iri"})
    for statement, status, code in (
        (someone, 403, "other_actor"),
        (other_reg, 403, "other_registration"),
        (invalid, 400, "invalid_statement"),
    ):
        refused = client.post("/xapi/lrs/statements", headers=headers, json=statement)
        assert (refused.status_code, refused.json["error"]) == (status, code)
    # A batch with one bad statement is refused whole, as an LRS would.
    batch = client.post(
        "/xapi/lrs/statements", headers=headers, json=[_statement(params), someone]
    )
    assert batch.status_code == 403
    assert _attempts(LEARNER.sub) == 1

    no_version = client.post(
        "/xapi/lrs/statements",
        headers={"Authorization": params["auth"]},
        json=_statement(params),
    )
    assert (no_version.status_code, no_version.json["error"]) == (400, "no_version")
    launch_as_credential = client.post(
        "/xapi/lrs/statements",
        headers={**bearer(token), **VERSION},
        json=_statement(params),
    )
    assert launch_as_credential.status_code == 401

    # The content reads back what it sent, and only that.
    read = client.get(f"/xapi/lrs/statements?statementId={page_id}", headers=headers)
    assert read.status_code == 200 and read.json["id"] == page_id
    listed = client.get("/xapi/lrs/statements", headers=headers).json["statements"]
    assert {s["id"] for s in listed} >= {page_id, passed["id"]}
    assert all(s["context"]["registration"] == params["registration"] for s in listed)

    send_pending_statements()
    with session_scope() as session:
        sent = session.scalars(select(OutboxStatement)).all()
        statuses = {(s.statement_id, s.status, s.last_error) for s in sent}
        verbs = {s.verb for s in sent}
    assert {status for _, status, _ in statuses} == {OUTBOX_DELIVERED}, statuses
    for statement_id in (page_id, passed["id"]):
        stored = requests.get(
            lrs.endpoint + "statements",
            params={"statementId": statement_id},
            headers=VERSION,
            auth=("pathwise", "secret"),
            timeout=10,
        )
        assert stored.status_code == 200, stored.text
        assert stored.json()["actor"]["account"]["name"] == LEARNER.sub
        assert stored.json()["context"]["registration"] == params["registration"]
    assert {"experienced", "passed"} <= verbs


def test_the_state_api_keeps_the_learners_resume_point(lti: LtiHarness) -> None:
    client = _client(lti)
    params = _launch(client, _token(lti))["params"]
    headers = _facade(params)
    query = {
        "activityId": ACTIVITY_IRI,
        "agent": params["actor"],
        "registration": params["registration"],
        "stateId": "resume",
    }
    url = "/xapi/lrs/activities/state"
    assert client.get(url, query_string=query, headers=headers).status_code == 404
    put = client.put(url, query_string=query, headers=headers, json={"page": 3})
    assert put.status_code == 204, put.json
    merged = client.post(url, query_string=query, headers=headers, json={"score": 2})
    assert merged.status_code == 204, merged.json
    got = client.get(url, query_string=query, headers=headers)
    assert got.status_code == 200 and got.json == {"page": 3, "score": 2}
    ids = client.get(
        url,
        query_string={k: v for k, v in query.items() if k != "stateId"},
        headers=headers,
    )
    assert ids.json == ["resume"]

    bob = json.loads(params["actor"])
    bob["account"]["name"] = "dev-user-bob"
    for name, value, code in (
        ("agent", json.dumps(bob), "other_actor"),
        ("registration", str(uuid.uuid4()), "other_registration"),
        ("activityId", "https://elsewhere.example/a", "other_activity"),
    ):
        refused = client.get(url, query_string={**query, name: value}, headers=headers)
        assert (refused.status_code, refused.json["error"]) == (403, code), name
    assert client.delete(url, query_string=query, headers=headers).status_code == 204
    assert client.get(url, query_string=query, headers=headers).status_code == 404


def test_a_credential_past_its_expiry_is_refused(lti: LtiHarness) -> None:
    client = _client(lti)
    params = _launch(client, _token(lti))["params"]
    assert lti.tool.app is not None
    secret_key = lti.tool.app.extensions["pathwise.settings"].secret_key
    with session_scope() as session:
        person = session.scalars(select(Person).where(Person.sub == LEARNER.sub)).one()
        tenant_id, person_id = person.tenant_id, person.id
    launch_id = _launch_id(params, secret_key)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    expired = issue_content_auth(
        secret_key=secret_key,
        grant=ContentGrant(
            tenant_id=tenant_id,
            person_id=person_id,
            launch_id=launch_id,
            registration=params["registration"],
            activity_iri=ACTIVITY_IRI,
            activity_key=XAPI_KEY,
            expires_at=past + dt.timedelta(minutes=60),
        ),
        now=past,
    )
    answer = client.post(
        "/xapi/lrs/statements",
        headers={"Authorization": expired, **VERSION},
        json=_statement(params),
    )
    assert (answer.status_code, answer.json["error"]) == (401, "credential_expired")
    forged = issue_content_auth(
        secret_key="not-the-tool-key-" + "x" * 40,
        grant=ContentGrant(
            tenant_id,
            person_id,
            launch_id,
            params["registration"],
            ACTIVITY_IRI,
            XAPI_KEY,
            dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5),
        ),
        now=dt.datetime.now(dt.UTC),
    )
    answer = client.post(
        "/xapi/lrs/statements",
        headers={"Authorization": forged, **VERSION},
        json=_statement(params),
    )
    assert (answer.status_code, answer.json["error"]) == (401, "bad_credential")
    assert _attempts(LEARNER.sub) == 0


def _launch_id(params: dict[str, str], secret_key: str) -> int:
    """The launch the issued credential names (read back with the tool's own key)."""
    _, _, encoded = params["auth"].partition(" ")
    token = base64.b64decode(encoded).decode().partition(":")[2]
    return int(jwt.decode(token, secret_key, algorithms=["HS256"])["lid"])


def test_another_course_learner_cannot_use_the_credential_for_themselves(
    lti: LtiHarness,
) -> None:
    client = _client(lti)
    ada = _launch(client, _token(lti))["params"]
    bob_user = SampleUser(
        sub="dev-user-bob",
        name="Learner Bob",
        given_name="Learner",
        family_name="Bob",
        email="bob@example.com",
        roles=LEARNER.roles,
        label="bob",
    )
    lti.platform.add_user(bob_user, course_id=DEMO_COURSE_ID)
    bob = _launch(client, _token(lti, bob_user))["params"]
    assert bob["registration"] != ada["registration"]
    # Ada's credential writing as Bob, and Bob's as Ada: both refused.
    for params, other in ((ada, bob), (bob, ada)):
        refused = client.post(
            "/xapi/lrs/statements",
            headers=_facade(params),
            json=_statement(other),
        )
        assert refused.status_code == 403, refused.json
    assert _attempts(LEARNER.sub) == _attempts("dev-user-bob") == 0
