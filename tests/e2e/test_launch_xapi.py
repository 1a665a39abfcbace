"""A learner's launch reads their newest LRS statements and writes a recommendation back.

Real parts end to end: the development LMS signs the launch, Learning Locker's
statement service is the LRS, Pathwise's own rules turn a course result into evidence.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import requests
from sqlalchemy import select

from adaptive.demo_seed import seed_demo
from adaptive.models import Evidence, Module, Skill
from lti_tool.devplatform.model import LEARNER
from lti_tool.infra.db import session_scope
from lti_tool.infra.models import Person, ResourceLink
from tests.lrs_fixture import LocalLrs, lrs  # noqa: F401 - fixture
from tests.lti_platform import LtiHarness, launch_token
from xapi import connections, identity
from xapi.models import OutboxStatement

SKILLS_EXT = "https://xapi.pathwise.dev/profile/extensions/skills"


def _post(server: LocalLrs, statement: dict[str, Any]) -> None:
    response = requests.post(
        server.endpoint + "statements",
        json=[statement],
        headers={"X-Experience-API-Version": "1.0.3"},
        auth=("pathwise", "secret"),
        timeout=10,
    )
    assert response.status_code == 200, response.text


def test_launch_pulls_new_statements_and_emits_a_recommendation(
    lti: LtiHarness,
    lrs: LocalLrs,  # noqa: F811 - pytest fixture
) -> None:
    with session_scope() as session:
        seed_demo(session)
    first = lti.do_launch(LEARNER)
    assert first.status == 200

    with session_scope() as session:
        person = session.scalars(select(Person).where(Person.sub == LEARNER.sub)).one()
        module = session.scalars(select(Module).order_by(Module.id)).first()
        assert module is not None
        # Place the demo module on the launched link, as Deep Linking would.
        for link in session.scalars(select(ResourceLink)):
            link.module_id = module.id
        connections.add_connection(
            session,
            tenant_id=person.tenant_id,
            name="Company LRS",
            endpoint=lrs.endpoint,
            username="pathwise",
            password="secret",
            actor="test",
        )
        actor = identity.actor_for_person(session, person=person)
        person_id = person.id

    _post(
        lrs,
        {
            "id": str(uuid.uuid4()),
            "actor": actor,
            "verb": {"id": "http://adlnet.gov/expapi/verbs/passed"},
            "object": {
                "objectType": "Activity",
                "id": "https://lms.example.com/courses/prompting-101",
                "definition": {"type": "http://adlnet.gov/expapi/activities/course"},
            },
            "result": {"success": True, "score": {"scaled": 0.92}},
            "context": {"extensions": {SKILLS_EXT: ["prompting-basics"]}},
            "timestamp": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
        },
    )

    second = lti.do_launch(LEARNER)
    assert second.status == 200
    # A first-time learner lands on the placement check; the launch has still
    # recorded the engine's recommendation.
    assert 'data-page-url="/app/placement"' in second.text
    before = _recommended_count(person_id)
    # Viewing the same recommendation again sends no second statement.
    home_url = second.response.url.split("/lti/")[0] + "/app/home"
    again = requests.post(home_url, data={"lt": launch_token(second.text)}, timeout=10)
    assert again.status_code == 200
    assert _recommended_count(person_id) == before

    with session_scope() as session:
        evidence = session.scalars(
            select(Evidence).where(
                Evidence.person_id == person_id, Evidence.source == "xapi"
            )
        ).all()
        skill_keys = {session.get(Skill, e.skill_id).key for e in evidence}  # type: ignore[union-attr]
        assert "prompting-basics" in skill_keys
        recommended = session.scalars(
            select(OutboxStatement).where(
                OutboxStatement.person_id == person_id,
                OutboxStatement.verb == "recommended",
            )
        ).all()
        # One per distinct recommendation: the new evidence may change the first one.
        assert 1 <= len(recommended) <= 2
        assert len({r.statement_id for r in recommended}) == len(recommended)


def _recommended_count(person_id: int) -> int:
    with session_scope() as session:
        return len(
            session.scalars(
                select(OutboxStatement.id).where(
                    OutboxStatement.person_id == person_id,
                    OutboxStatement.verb == "recommended",
                )
            ).all()
        )
