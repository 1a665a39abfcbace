"""Benchmark: what grades to the LMS cost per answer, and how fast the outbox drains.

Two figures, both in one process against the real development LMS served over HTTP
(token endpoint, AGS with Moodle's rules):

- **per answer**: ``lti_tool.usecases.grades.record_learner_attempt`` (record the attempt, update
  the model, compute the learner's progress and next step, upsert the grade outbox) in
  its own committed transaction, against the same-run baseline ``record_attempt`` alone
  (the attempt and the model update, no grade). The sides alternate answer by answer,
  so drift falls on both; delivery is not kicked while measuring.
- **delivery**: ``send_pending_grades`` draining one pending score per learner to the
  LMS (one token for all of them), in scores per second, and the token requests made.

    python bench/grades.py                      # 200 answers per side, 100 learners
    python bench/grades.py --quick              # a smoke run
    python bench/grades.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/x
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from adaptive.attempts import record_attempt  # noqa: E402
from adaptive.demo_seed import seed_demo  # noqa: E402
from adaptive.models import Module  # noqa: E402
from lti_tool.devplatform.app import create_platform_app  # noqa: E402
from lti_tool.devplatform.keys import generate_rsa_key  # noqa: E402
from lti_tool.devplatform.model import ROLE_LEARNER, SampleUser, ToolConfig  # noqa: E402
from lti_tool.devplatform.platform import DevPlatform  # noqa: E402
from lti_tool.devplatform.vocabulary import AGS_SCOPES, DEMO_COURSE_ID  # noqa: E402
from lti_tool.infra.crypto import configure_secrets  # noqa: E402
from lti_tool.infra.db import db, session_scope, utcnow  # noqa: E402
from lti_tool.infra.models import Person, ResourceLink  # noqa: E402
from lti_tool.infra.outbound import configure_outbound  # noqa: E402
from lti_tool.infra.queue import job_queue  # noqa: E402
from lti_tool.lti.dev_registration import ensure_registration  # noqa: E402
from lti_tool.lti.grade_jobs import send_pending_grades  # noqa: E402
from lti_tool.lti.grade_kicks import wire_grade_kicks  # noqa: E402
from lti_tool.lti.grade_models import GRADE_SENT, GradeOutboxEntry  # noqa: E402
from lti_tool.lti.keys import create_signing_key, published_jwks  # noqa: E402
from lti_tool.lti.launch_token import LaunchContext  # noqa: E402
from lti_tool.runtime import wire_follow_up_jobs  # noqa: E402
from lti_tool.schema import full_metadata  # noqa: E402
from lti_tool.usecases.grades import record_learner_attempt  # noqa: E402

CLIENT_ID = "bench-grades"
DEPLOYMENT_ID = "bench-deployment"
LINK_ID = "dev-link-ai-everyone"


class _Slot:
    def __init__(self) -> None:
        self.app: Any = None

    def __call__(self, environ: Any, start_response: Any) -> Any:
        return self.app(environ, start_response)


def serve_lms() -> tuple[DevPlatform, Any]:
    """The development LMS on a loopback port; the tool's JWKS is read from its table."""
    slot = _Slot()
    server = make_server("127.0.0.1", 0, slot, threaded=True)
    issuer = f"http://127.0.0.1:{server.server_port}/dev-platform"

    def tool_jwks(url: str) -> dict[str, Any]:
        with session_scope() as session:
            return published_jwks(session)

    platform = DevPlatform(issuer, key=generate_rsa_key(), fetch_json=tool_jwks)
    slot.app = create_platform_app(platform)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return platform, server


@dataclass(frozen=True)
class World:
    contexts: list[LaunchContext]
    module_id: int
    activity_ids: list[int]


def build_world(platform: DevPlatform, learners: int) -> World:
    platform.add_tool(
        ToolConfig.for_tool_base(
            "http://127.0.0.1:9", client_id=CLIENT_ID, deployment_id=DEPLOYMENT_ID
        )
    )
    link = platform.links[LINK_ID]
    assert link.lineitem_id is not None
    ags = {
        "scope": list(AGS_SCOPES),
        "lineitems": platform.lineitems_url(DEMO_COURSE_ID),
        "lineitem": platform.lineitem_url(platform.lineitems[link.lineitem_id]),
    }
    contexts = []
    with session_scope() as session:
        seed_demo(session)
        create_signing_key(session)
        registration = ensure_registration(
            session,
            issuer=platform.issuer,
            client_id=CLIENT_ID,
            deployment_id=DEPLOYMENT_ID,
        )
        tenant_id = registration.deployments[0].id
        module = session.scalars(
            select(Module).where(Module.key == link.custom["pathwise_module"])
        ).one()
        row = ResourceLink(
            tenant_id=tenant_id,
            resource_link_id=LINK_ID,
            title=link.title,
            module_id=module.id,
            ags_endpoint=ags,
        )
        session.add(row)
        session.flush()
        for n in range(learners):
            sub = f"bench-learner-{n}"
            platform.add_user(
                SampleUser(
                    sub,
                    f"Learner {n}",
                    "L",
                    str(n),
                    f"{sub}@example.test",
                    (ROLE_LEARNER,),
                    sub,
                ),
                course_id=DEMO_COURSE_ID,
            )
            person = Person(tenant_id=tenant_id, sub=sub, name=f"Learner {n}")
            session.add(person)
            session.flush()
            contexts.append(
                LaunchContext(
                    launch_id=0,
                    person_id=person.id,
                    tenant_id=tenant_id,
                    role="learner",
                    expires_at=utcnow() + dt.timedelta(hours=1),
                    resource_link_pk=row.id,
                )
            )
        module_id = module.id
        activity_ids = [a.activity_id for a in module.activity_links][:6]
    return World(contexts, module_id, activity_ids)


def answer(world: World, ctx: LaunchContext, i: int, *, with_grade: bool) -> float:
    """One committed answer; the seconds it took."""
    module_id = world.module_id
    activity_id = world.activity_ids[i % len(world.activity_ids)]
    started = time.perf_counter()
    with session_scope() as session:
        if with_grade:
            record_learner_attempt(
                session,
                ctx,
                activity_id=activity_id,
                module_id=module_id,
                answers=[],
                score=float(i % 3 != 0),
                now=utcnow(),
            )
        else:
            record_attempt(
                session,
                tenant_id=ctx.tenant_id,
                person_id=ctx.person_id,
                activity_id=activity_id,
                answers=[],
                now=utcnow(),
                module_id=module_id,
                score=float(i % 3 != 0),
            )
    return time.perf_counter() - started


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=200, help="answers per side")
    parser.add_argument("--learners", type=int, default=100)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    if args.quick:
        args.answers, args.learners = 20, 10
    workdir = Path(tempfile.mkdtemp(prefix="pathwise-bench-grades-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite'}"
    db.configure(url)
    engine = db.engine
    full_metadata().drop_all(engine)
    full_metadata().create_all(engine)
    configure_secrets((Fernet.generate_key().decode(),))
    configure_outbound(guard_internal=False, allow_hosts=())
    job_queue.configure(None)
    wire_follow_up_jobs()
    wire_grade_kicks(deliver_grades=lambda: None)  # measure the answer, not delivery

    platform, server = serve_lms()
    try:
        world = build_world(platform, args.learners)
        contexts = world.contexts
        for i, ctx in enumerate(contexts):  # warm-up: every learner has a profile
            answer(world, ctx, i, with_grade=False)
        graded: list[float] = []
        bare: list[float] = []
        for i in range(args.answers):
            ctx = contexts[i % len(contexts)]
            first, second = (True, False) if i % 2 else (False, True)
            for with_grade in (first, second):
                took = answer(world, ctx, i, with_grade=with_grade)
                (graded if with_grade else bare).append(took)
        with session_scope() as session:
            pending = len(session.scalars(select(GradeOutboxEntry.id)).all())

        started = time.perf_counter()
        report = send_pending_grades(limit=10_000)
        drained = time.perf_counter() - started
        with session_scope() as session:
            sent = len(
                session.scalars(
                    select(GradeOutboxEntry.id).where(
                        GradeOutboxEntry.status == GRADE_SENT
                    )
                ).all()
            )
    finally:
        server.shutdown()

    print(f"backend: {engine.dialect.name}")
    print(f"answer_with_grade_p50: {pct(graded, 0.5) * 1000:.2f} ms")
    print(f"answer_with_grade_p99: {pct(graded, 0.99) * 1000:.2f} ms")
    print(f"baseline_answer_p50: {pct(bare, 0.5) * 1000:.2f} ms")
    print(f"baseline_answer_p99: {pct(bare, 0.99) * 1000:.2f} ms")
    print(
        "answer_grade_overhead_ratio_p50: "
        f"{statistics.median(graded) / statistics.median(bare):.2f} x"
    )
    print(f"grade_outbox_rows: {pending} rows")
    print(f"grade_scores_sent: {report['delivered']} scores")
    print(f"grade_delivery_rate: {report['delivered'] / drained:.1f} scores/s")
    print(f"grade_rows_sent: {sent} rows")
    print(f"grade_token_requests: {platform.tokens_issued} tokens")
    print(f"grade_409_answers: {platform.score_answers.count(409)} answers")


if __name__ == "__main__":
    main()
