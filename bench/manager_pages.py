"""Benchmark: what the manager's capability and learner-review pages read, by cohort size.

A course of N learners on the demo catalogue; half of them hold a stored model at
the top level of every skill (so each is a mentor candidate), half hold none. It
times the two page use cases (``capability_page``, ``learner_review`` of a learner
with nothing stored, so every target skill looks for mentors) on one session, as a
request would, after one warm-up (the module snapshot is cached per process).

    python bench/manager_pages.py                  # 50 and 200 learners, SQLite
    python bench/manager_pages.py --sizes 20 500
    python bench/manager_pages.py --database postgresql+psycopg://postgres@127.0.0.1:5432/DB

The database given is emptied (every Pathwise table dropped and created).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adaptive.cohort_people import cohort_people  # noqa: E402
from adaptive.core.learner_types import SkillState  # noqa: E402
from adaptive.demo_seed import seed_demo  # noqa: E402
from adaptive.learner_store import load_learner, save_skill  # noqa: E402
from adaptive.models import Module  # noqa: E402
from adaptive.module_snapshots import load_module  # noqa: E402
from lti_tool.infra.db import make_engine, utcnow  # noqa: E402
from lti_tool.infra.models import (  # noqa: E402
    Course,
    Deployment,
    Enrolment,
    Person,
    Registration,
)
from lti_tool.schema import full_metadata  # noqa: E402
from lti_tool.usecases.manager_review import (  # noqa: E402
    ManagerScope,
    capability_page,
    learner_review,
)


def build(session: Session, size: int) -> tuple[ManagerScope, int]:
    """A tenant, a course of ``size`` learners, half of them experts; the scope."""
    seed_demo(session)
    registration = Registration(
        issuer="https://bench.example",
        client_id="bench",
        auth_login_url="https://bench.example/auth",
        auth_token_url="https://bench.example/token",
    )
    session.add(registration)
    session.flush()
    tenant = Deployment(registration_id=registration.id, deployment_id="bench")
    session.add(tenant)
    session.flush()
    course = Course(tenant_id=tenant.id, context_id="c1", title="Bench course")
    manager = Person(tenant_id=tenant.id, sub="manager", name="Manager")
    session.add_all([course, manager])
    session.flush()
    module_id = session.scalars(select(Module.id).order_by(Module.id)).first()
    assert module_id is not None
    snapshot = load_module(session, tenant_id=tenant.id, module_id=module_id)
    n = snapshot.catalog.n_levels
    top = np.full(n, 0.001)
    top[-1] = 1.0 - 0.001 * (n - 1)
    for i in range(size):
        person = Person(tenant_id=tenant.id, sub=f"l{i}", name=f"Learner {i:04d}")
        session.add(person)
        session.flush()
        session.add(Enrolment(person_id=person.id, course_id=course.id, role="learner"))
        if i % 2:
            state = load_learner(
                session, tenant_id=tenant.id, person_id=person.id, n_levels=n
            )
            for skill_id in snapshot.catalog.skills:
                state.model.states[skill_id] = SkillState(
                    probs=top.copy(),
                    updated_at=utcnow(),
                    n_evidence=10,
                    weight_evidence=10.0,
                )
                save_skill(session, state, skill_id, evidence_at=utcnow())
    session.commit()
    members = {
        m.person_id: m
        for m in cohort_people(
            session, tenant_id=tenant.id, course_id=course.id, manager_id=manager.id
        )
    }
    novice = min(members)  # learner 0: nothing stored
    scope = ManagerScope(
        tenant_id=tenant.id,
        manager_id=manager.id,
        actor=f"lti:{tenant.id}:{manager.id}",
        course_title="Bench course",
        snapshot=snapshot,
        members=members,
    )
    return scope, novice


def timed(run: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median and worst wall time (ms) of ``run()`` over ``repeats`` after a warm-up."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times)


def measure(url: str, size: int, repeats: int) -> tuple[tuple[float, float], ...]:
    """Build a cohort of ``size`` in an emptied database and time both pages."""
    engine = make_engine(url)
    full_metadata().drop_all(engine)
    full_metadata().create_all(engine)
    try:
        with Session(engine) as session:
            scope, novice = build(session, size)
            now = utcnow()
            cap = timed(lambda: capability_page(session, scope, now=now), repeats)
            review = timed(
                lambda: learner_review(session, scope, novice, now=now), repeats
            )
            session.rollback()
    finally:
        engine.dispose()
    return cap, review


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--database", default="")
    args = parser.parse_args()
    print("learners  capability page (median / worst ms)  learner review (ms)")
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            url = args.database or f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
            cap, review = measure(url, size, args.repeats)
        print(
            f"{size:8d}  {cap[0]:10.1f} / {cap[1]:8.1f}"
            f"                    {review[0]:8.1f} / {review[1]:.1f}"
        )


if __name__ == "__main__":
    main()
