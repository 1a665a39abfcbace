"""One answer through POST /api/v1/attempts after a real signed launch: one read, one decision.

The round trip (record, update, decide, write back) reads the learner's model once
and asks the engine once; the step the learner sees, the step the gradebook's
comment names and the grade's progress all come from that read. The queries are
counted on the engine, so a second decision or read shows up here.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from adaptive.demo_seed import seed_demo
from lti_tool.devplatform.model import LEARNER
from lti_tool.infra.db import session_scope, utcnow
from lti_tool.infra.models import Person, ResourceLink
from lti_tool.lti.grade_models import GradeOutboxEntry
from lti_tool.usecases.next_steps import decide_for
from tests.answer_support import answer as _answer
from tests.answer_support import launch_for_answers as _launch
from tests.answer_support import tables_read
from tests.lti_platform import LtiHarness


@pytest.fixture(autouse=True)
def _demo_catalogue(lti: LtiHarness) -> None:
    with session_scope() as session:
        seed_demo(session)


def _grade_comment() -> str:
    with session_scope() as session:
        entry = session.scalars(select(GradeOutboxEntry)).one()
        return str(entry.comment)


def test_an_answer_reads_the_learner_once_and_decides_once(lti: LtiHarness) -> None:
    client, headers, key = _launch(lti)
    with tables_read() as reads:
        answer = _answer(client, headers, key)
    # The learner's lock, then one read: the update changes that model in place and
    # saves what it touches, and the decision and the grade's progress go on from it
    # (before: 3, a second read after the update rebuilt the same model from the rows
    # just written; earlier still, two more reads and the history twice). The lock
    # stays its own statement: a locking read joined to the skill rows would, after
    # waiting for another answer of the learner, see their rows as they were before.
    assert reads["learner_profiles"] == 2, reads
    assert reads["attempts"] == 1, reads
    assert reads["launches"] == 1, reads
    step = answer["next_step"]
    assert step["title"] and step["reason"]
    # The gradebook's comment names the very step the learner was shown.
    assert _grade_comment().startswith(f"Next: {step['title']} (")


def test_a_time_budget_fits_the_shown_step_and_not_the_grade_comment(
    lti: LtiHarness,
) -> None:
    client, headers, key = _launch(lti)
    budget = client.post("/api/v1/time-budget", headers=headers, json={"minutes": 1})
    assert budget.status_code == 200, budget.json
    with tables_read() as reads:
        answer = _answer(client, headers, key)
    assert reads["learner_profiles"] == 2, reads
    shown = answer["next_step"]
    assert shown["minutes"] <= 1 or shown["reason_code"] == "time_budget_exhausted"
    # The gradebook names the path's next step, whatever this sitting's budget.
    with session_scope() as session:
        person = session.scalars(select(Person).where(Person.sub == LEARNER.sub)).one()
        link = session.scalars(select(ResourceLink)).one()
        assert link.module_id is not None
        path_step = decide_for(
            session,
            tenant_id=person.tenant_id,
            person_id=person.id,
            module_id=link.module_id,
            now=utcnow(),
        ).preview()
    assert path_step.title
    assert _grade_comment().startswith(f"Next: {path_step.title} (")
