"""adaptive.learner_store on PostgreSQL: one of a learner's model updates at a time.

Found by bench/learner.py: two answers of one learner at once both inserted a skill's
first state row, and the second failed with a unique violation (a 500). The lock
makes the second transaction wait for the first, then read what it wrote.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from adaptive.core.learner_types import Observation
from adaptive.learner_store import load_learner, lock_learner, save_skill
from adaptive.models import LearnerSkillState
from lti_tool.infra.db import utcnow
from tests.factories import make_framework, make_person, make_skill, make_tenant
from tests.support_env import truncate_all

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg(engine: Engine) -> Iterator[Engine]:
    if engine.dialect.name != "postgresql":
        pytest.skip("the lock is PostgreSQL's: SQLite writers are serialised anyway")
    yield engine
    truncate_all(engine)


def _teach_first_time(
    session: Session, tenant_id: int, person_id: int, skill_id: int
) -> None:
    """A model update that writes the skill's first state row (read, change, write)."""
    lock_learner(session, tenant_id=tenant_id, person_id=person_id)
    state = load_learner(session, tenant_id=tenant_id, person_id=person_id)
    state.model.observe(
        Observation(skill_id=skill_id, level=1, outcome=1.0, at=utcnow(), weight=1.0)
    )
    save_skill(session, state, skill_id, evidence_at=None)
    session.flush()


def test_a_second_update_waits_for_the_first_and_sees_its_row(pg: Engine) -> None:
    with Session(pg) as setup:
        tenant = make_tenant(setup)
        person = make_person(setup, tenant)
        skill = make_skill(setup, make_framework(setup), "skill-a")
        load_learner(setup, tenant_id=tenant.id, person_id=person.id)  # the profile
        setup.commit()
        ids = (tenant.id, person.id, skill.id)

    first = Session(pg)
    _teach_first_time(first, *ids)  # holds the lock, its row not committed yet
    errors: list[BaseException] = []
    done = threading.Event()

    def second() -> None:
        try:
            with Session(pg) as session:
                _teach_first_time(session, *ids)
                session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=second)
    thread.start()
    assert not done.wait(0.5), "the second update did not wait for the first"
    first.commit()
    first.close()
    assert done.wait(10)
    thread.join()
    assert errors == []
    with Session(pg) as check:
        rows = check.scalars(
            select(LearnerSkillState).where(LearnerSkillState.person_id == ids[1])
        ).all()
    assert [r.skill_id for r in rows] == [ids[2]]
