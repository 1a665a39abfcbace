"""Mastery-change statements from a real journey, delivered to the strict LRS.

A real signed launch, the demo catalogue, quiz attempts through the learner API:
right answers bring a skill to its target (``mastered``), wrong ones later take it
below again (``lapsed``); each crossing is one statement, never repeated.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import requests
from flask.testing import FlaskClient
from sqlalchemy import delete, select

from adaptive.demo_seed import seed_demo
from adaptive.models import Activity
from lti_tool.devplatform.model import LEARNER
from lti_tool.devplatform.vocabulary import DEMO_COURSE_ID
from lti_tool.infra.db import session_scope
from lti_tool.infra.models import Person
from tests.lrs_fixture import LocalLrs, lrs  # noqa: F401 - fixture
from tests.lti_platform import LtiHarness, bearer, launch_token
from xapi import connections
from xapi.core import profile
from xapi.jobs import send_pending_statements
from xapi.models import OUTBOX_DELIVERED, OutboxStatement

QUIZ = "foundations-quiz"


def _answers(key: str, *, right: bool) -> list[int]:
    """The quiz's right answers (read from the catalogue), or wrong ones."""
    with session_scope() as session:
        activity = session.scalars(select(Activity).where(Activity.key == key)).first()
        assert activity is not None
        keys = [int(q["answer"]) for q in activity.content.get("questions", [])]
    return keys if right else [(k + 1) % 2 for k in keys]


def _mastery_rows() -> list[OutboxStatement]:
    with session_scope() as session:
        rows = session.scalars(
            select(OutboxStatement)
            .where(OutboxStatement.verb.in_(("mastered", "lapsed")))
            .order_by(OutboxStatement.id)
        ).all()
        session.expunge_all()
        return list(rows)


def _attempt(client: FlaskClient, token: str, *, right: bool, client_id: str) -> Any:
    answer = client.post(
        "/api/v1/attempts",
        headers=bearer(token),
        json={
            "client_id": client_id,
            "activity_key": QUIZ,
            "responses": _answers(QUIZ, right=right),
            "minutes": 3,
        },
    )
    assert answer.status_code == 200, answer.json
    return answer.json


def test_a_skill_mastered_then_lapsed_reaches_the_strict_lrs_once_each(
    lti: LtiHarness,
    lrs: LocalLrs,  # noqa: F811 - pytest fixture
) -> None:
    with session_scope() as session:
        seed_demo(session)
    assert lti.tool.app is not None
    client = lti.tool.app.test_client()
    run = lti.do_launch(LEARNER)
    assert run.status == 200, run.text[:500]
    token = launch_token(run.text)
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
        session.execute(delete(OutboxStatement))

    for _ in range(6):
        _attempt(client, token, right=True, client_id=str(uuid.uuid4()))
        if _mastery_rows():
            break
    [mastered] = _mastery_rows()
    assert mastered.verb == "mastered"
    # A retry of the same submission, a re-read of the path: nothing new is said.
    repeat = str(uuid.uuid4())
    _attempt(client, token, right=True, client_id=repeat)
    _attempt(client, token, right=True, client_id=repeat)
    client.get("/api/v1/me/path", headers=bearer(token))
    assert [r.verb for r in _mastery_rows()] == ["mastered"]

    for _ in range(12):
        _attempt(client, token, right=False, client_id=str(uuid.uuid4()))
        if len(_mastery_rows()) > 1:
            break
    verbs = [r.verb for r in _mastery_rows()]
    assert verbs == ["mastered", "lapsed"], verbs

    registration = client.get("/api/v1/me/path", headers=bearer(token)).json[
        "registration"
    ]
    send_pending_statements()
    for row in _mastery_rows():
        with session_scope() as session:
            status = session.get(OutboxStatement, row.id)
            assert status is not None
            assert status.status == OUTBOX_DELIVERED, status.last_error
        stored = requests.get(
            lrs.endpoint + "statements",
            params={"statementId": row.statement_id},
            headers={"X-Experience-API-Version": "1.0.3"},
            auth=("pathwise", "secret"),
            timeout=10,
        )
        assert stored.status_code == 200, stored.text
        body = stored.json()
        assert body["verb"]["id"] == json.loads(row.body)["verb"]["id"]
        assert body["object"]["definition"]["type"] == profile.ACTIVITY_TYPES["skill"]
        assert "/skills/" in body["object"]["id"]
        context = body["context"]
        assert context["registration"] == registration
        [grouping] = context["contextActivities"]["grouping"]
        assert grouping["id"].endswith("/lti/contexts/" + DEMO_COURSE_ID)
        assert context["contextActivities"]["parent"][0]["id"].endswith(
            "/modules/ai-readiness-everyone"
        )
        assert body["result"]["success"] is (row.verb == "mastered")
        assert profile.EXT_TARGET_LEVEL in body["result"]["extensions"]
