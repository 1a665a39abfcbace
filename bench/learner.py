"""Benchmark: a learner's answer round trip (POST /api/v1/attempts) under open-loop arrivals.

The round trip is what the player does after every answer: record the attempt, update
the learner's model, choose the next step, and enqueue the write-backs (the xAPI
statements in the outbox, the learner's grade in the grade outbox, one coalesced RQ
kick each). It runs on gunicorn + PostgreSQL + Redis with a real RQ worker draining
both outboxes to the development LMS (its token and AGS endpoints served over HTTP,
Moodle's rules), on the demo catalogue.

Learners come from real signed launches: the development LMS signs each id_token, the
tool validates it against the LMS's key set fetched over HTTP, and the bearer token is
the one the learner page's ``<meta>`` carries. Each learner then answers the step the
previous answer returned.

Arrivals are open-loop: every request has a send time fixed in advance (``--learners``
learners, each answering ``--rate`` times a second, spread evenly) and is sent then
whether or not earlier answers came back; latency counts from that scheduled time, so
a slow server cannot hide its queueing by slowing the client (coordinated omission).
The client runs in a process of its own, apart from the development LMS.
In the same run a bare endpoint that only inserts one attempt row (bench/_learner_app.py,
mounted by the bench's own app wrapper, not in the product) is measured the same way,
the two sides alternating in ``--rounds``. Then a short step search finds the highest
arrival rate whose p99 stays under ``--target-ms``.

    python bench/learner.py                          # 50 learners x 1/s, 60 s a side
    python bench/learner.py --learners 10 --seconds 10 --search-steps 2
    python bench/learner.py --quick                  # a smoke run (still Postgres+Redis)

Needs PostgreSQL (127.0.0.1:5432, trust) and Redis (127.0.0.1:6379). Progress goes to
stderr; figures (``name: value unit``) to stdout.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import multiprocessing
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlparse

import psycopg
import redis
import requests
from cryptography.fernet import Fernet
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adaptive.demo_seed import demo_catalogue_text  # noqa: E402
from bench._learner_app import BARE_ATTEMPT_PATH  # noqa: E402
from bench._open_loop import (  # noqa: E402
    Run,
    Send,
    describe,
    load_1min,
    log,
    open_loop,
    step_search,
)
from bench.launch import (  # noqa: E402
    DEMO_CATALOGUE,
    PG_ADMIN_URL,
    database_cpu_s,
    free_port,
    process,
    server_cpu_s,
)
from lti_tool.devplatform.app import create_platform_app  # noqa: E402
from lti_tool.devplatform.model import LEARNER, SampleUser, ToolConfig  # noqa: E402
from lti_tool.devplatform.platform import DevPlatform  # noqa: E402
from lti_tool.devplatform.vocabulary import DEMO_COURSE_ID  # noqa: E402

CLIENT_ID = "bench-learner-client"
DEPLOYMENT_ID = "bench-learner-deployment"
TOKEN_META = re.compile(r'<meta name="pathwise-launch-token" content="([^"]+)">')
ANSWER_PATH = "/api/v1/attempts"


# ------------------------------------------------------------------ the LMS


class _Slot:
    """A WSGI app filled in once the server has its port (the LMS needs its URL)."""

    def __init__(self) -> None:
        self.app: Any = None

    def __call__(self, environ: Any, start_response: Any) -> Any:
        return self.app(environ, start_response)


@contextmanager
def served_lms() -> Iterator[DevPlatform]:
    """The development LMS on a loopback port: auth, key set, token and AGS over HTTP."""
    slot = _Slot()
    server = make_server("127.0.0.1", 0, slot, threaded=True)
    platform = DevPlatform(f"http://127.0.0.1:{server.server_port}/dev-platform")
    slot.app = create_platform_app(platform)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield platform
    finally:
        server.shutdown()
        server.server_close()


# ------------------------------------------------------------------ learners


@dataclass
class Learner:
    """A launched learner: their bearer token, ids for the bare side, next activity."""

    sub: str
    token: str
    activity_key: str
    person_id: int = 0
    tenant_id: int = 0


def launch(platform: DevPlatform, tool_url: str, user: SampleUser) -> str:
    """One real launch (login -> LMS auth -> signed id_token -> page); its bearer token."""
    http = requests.Session()
    initiation = platform.start_launch(user, client_id=CLIENT_ID)
    response = http.post(
        tool_url + "/lti/login",
        data=initiation.params,
        allow_redirects=False,
        timeout=30,
    )
    if response.status_code != 302:
        raise RuntimeError(f"login {response.status_code}: {response.text[:300]}")
    location = urljoin(tool_url, response.headers["Location"])
    params = {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}
    auth = platform.authorize(params)
    response = http.post(
        auth.redirect_uri,
        data={"id_token": auth.id_token, "state": auth.state or ""},
        allow_redirects=False,
        timeout=30,
    )
    if response.status_code in (302, 303):
        response = http.get(
            urljoin(auth.redirect_uri, response.headers["Location"]), timeout=30
        )
    match = TOKEN_META.search(response.text)
    if response.status_code != 200 or match is None:
        raise RuntimeError(f"launch {response.status_code}: {response.text[:300]}")
    return match.group(1)


def launch_learners(platform: DevPlatform, tool_url: str, count: int) -> list[Learner]:
    learners = []
    for i in range(count):
        user = platform.add_user(
            replace(
                LEARNER,
                sub=f"bench-answer-{i}",
                name=f"Learner {i}",
                given_name="Learner",
                family_name=str(i),
                email=f"answer{i}@example.com",
            ),
            course_id=DEMO_COURSE_ID,
        )
        token = launch(platform, tool_url, user)
        # As the learner page does: the path names the first step to open.
        path = requests.get(
            tool_url + "/api/v1/me/path",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        path.raise_for_status()
        key = path.json()["next_step"]["activity_key"]
        if not key:
            raise RuntimeError(f"no first activity for {user.sub}: {path.text[:300]}")
        learners.append(Learner(user.sub, token, str(key)))
        if (i + 1) % 10 == 0 or i + 1 == count:
            log(f"launched {i + 1}/{count} learners through the development LMS")
    return learners


@dataclass(frozen=True)
class BareIds:
    """Ids the bare endpoint inserts with: the launched link's module, its activities."""

    module_id: int
    activity_ids: list[int]


def bare_ids(conninfo: str, learners: list[Learner]) -> BareIds:
    with psycopg.connect(conninfo) as conn:
        people = {
            row[0]: (row[1], row[2])
            for row in conn.execute(
                "SELECT sub, id, tenant_id FROM people WHERE sub = ANY(%s)",
                ([lr.sub for lr in learners],),
            )
        }
        module_row = conn.execute(
            "SELECT module_id FROM resource_links WHERE module_id IS NOT NULL LIMIT 1"
        ).fetchone()
        activity_rows = conn.execute(
            "SELECT id FROM activities ORDER BY id LIMIT 8"
        ).fetchall()
    for learner in learners:
        learner.person_id, learner.tenant_id = people[learner.sub]
    if module_row is None or not activity_rows:
        raise RuntimeError("the launched link has no module or the module no activity")
    return BareIds(int(module_row[0]), [int(r[0]) for r in activity_rows])


def demo_questions() -> dict[str, list[dict[str, Any]]]:
    """The demo catalogue's questions by activity key: what the player would show."""
    data = json.loads(demo_catalogue_text())
    return {
        a["key"]: list(a.get("content", {}).get("questions", []))
        for a in data["activities"]
    }


def random_responses(questions: list[dict[str, Any]], rng: random.Random) -> list[Any]:
    """One answer per question, of the shape its type takes, chosen at random."""
    out: list[Any] = []
    for q in questions:
        kind = q.get("type", "single")
        options = max(len(q.get("options", [])), 1)
        if kind == "multiple":
            out.append([rng.randrange(options)])
        elif kind == "short":
            out.append(rng.choice(["yes", "no", "42"]))
        elif kind == "scenario":
            out.append({"text": "I would check it first.", "met": [0]})
        else:
            out.append(rng.randrange(options))
    return out


def answer_sender(learners: list[Learner], seed: int) -> Send:
    """The round trip: answer the step the learner's last answer returned, each
    question in the shape its type takes (at random, so about one in four right)."""
    rng = random.Random(seed)
    lock = threading.Lock()
    questions = demo_questions()

    def send(conn: http.client.HTTPConnection, index: int) -> tuple[int, bytes]:
        learner = learners[index]
        with lock:
            responses = random_responses(questions.get(learner.activity_key, []), rng)
        body = json.dumps(
            {
                "client_id": str(uuid.uuid4()),
                "activity_key": learner.activity_key,
                "responses": responses,
                "minutes": 2,
            }
        )
        conn.request(
            "POST",
            ANSWER_PATH,
            body=body,
            headers={
                "Authorization": f"Bearer {learner.token}",
                "Content-Type": "application/json",
            },
        )
        response = conn.getresponse()
        data = response.read()
        if response.status == 200:
            key = json.loads(data)["next_step"]["activity_key"]
            if key:  # at the path's end the learner keeps answering the last one
                learner.activity_key = key
        return response.status, data

    return send


def bare_sender(learners: list[Learner], ids: BareIds) -> Send:
    """The baseline: one attempt row for the same learner, nothing else."""

    def send(conn: http.client.HTTPConnection, index: int) -> tuple[int, bytes]:
        learner = learners[index]
        body = json.dumps(
            {
                "tenant_id": learner.tenant_id,
                "person_id": learner.person_id,
                "activity_id": ids.activity_ids[index % len(ids.activity_ids)],
                "module_id": ids.module_id,
                "responses": [index % 4],
            }
        )
        conn.request(
            "POST",
            BARE_ATTEMPT_PATH,
            body=body,
            headers={"Content-Type": "application/json"},
        )
        response = conn.getresponse()
        return response.status, response.read()

    return send


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@dataclass(frozen=True)
class Servers:
    tool: subprocess.Popen[bytes]
    worker: subprocess.Popen[bytes]
    database: str


def worker_cpu_s(root_pid: int) -> float:
    """CPU seconds of the RQ worker, its finished work horses included.

    `pathwise worker` runs jobs in its own process; with ``--fork`` RQ forks a work
    horse per job, whose time is in the worker's children's fields once reaped.
    """
    try:
        fields = Path(f"/proc/{root_pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    reaped = (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")
    return server_cpu_s(root_pid) + reaped


def in_client_process(learners: list[Learner], phase: Callable[[], Run]) -> Run:
    """Run a phase's load in a forked process of its own, and bring back its figures.

    This process also serves the development LMS, whose threads take the
    interpreter's lock for every score the worker posts (a second's worth at once,
    see ``PATHWISE_WRITEBACK_GATHER``); a client sharing that lock would send and
    read late, and count the LMS's work as the tool's latency. A real LMS is not
    in the client. The learners' next activities come back with the figures.
    """
    reader, writer = multiprocessing.Pipe(duplex=False)
    child = os.fork()
    if child == 0:  # pragma: no cover - the child process
        try:
            run = phase()
            writer.send((run, [learner.activity_key for learner in learners]))
        except BaseException:
            writer.send(traceback.format_exc())
        finally:
            os._exit(0)
    writer.close()
    try:
        result = reader.recv()
    finally:
        os.waitpid(child, 0)
    if isinstance(result, str):
        raise RuntimeError(f"the client process failed:\n{result}")
    run, keys = result
    for learner, key in zip(learners, keys, strict=True):
        learner.activity_key = key
    return run


def measured(servers: Servers, phase: Callable[[], Run]) -> Run:
    """A phase with the CPU its server, worker and database processes spent."""
    server, worker = server_cpu_s(servers.tool.pid), worker_cpu_s(servers.worker.pid)
    database = database_cpu_s(servers.database)
    run = phase()
    run.server_cpu_s = server_cpu_s(servers.tool.pid) - server
    run.worker_cpu_s = worker_cpu_s(servers.worker.pid) - worker
    run.database_cpu_s = database_cpu_s(servers.database) - database
    run.load_end = load_1min()
    return run


def per_request_ms(seconds: float, run: Run) -> float:
    return seconds / max(1, run.sent) * 1000


def report(label: str, run: Run) -> None:
    print(f"{label}_p50: {run.p(0.5):.1f} ms")
    print(f"{label}_p99: {run.p(0.99):.1f} ms")
    print(f"{label}_errors: {len(run.errors)} requests")
    print(f"{label}_requests: {run.sent} requests")
    print(
        f"{label}_server_cpu_per_request: {per_request_ms(run.server_cpu_s, run):.2f} ms"
    )
    print(
        f"{label}_postgres_cpu_per_request: "
        f"{per_request_ms(run.database_cpu_s, run):.2f} ms"
    )
    print(
        f"{label}_worker_cpu_per_request: {per_request_ms(run.worker_cpu_s, run):.2f} ms"
    )
    print(f"{label}_load_1min: {run.load_end:.2f} load")


def outbox_counts(conninfo: str) -> dict[str, int]:
    with psycopg.connect(conninfo) as conn:
        attempts = conn.execute("SELECT count(*) FROM attempts").fetchone()
        statements = conn.execute("SELECT count(*) FROM xapi_outbox").fetchone()
        grades = conn.execute(
            "SELECT count(*) FROM grade_outbox WHERE status = 'sent'"
        ).fetchone()
    return {
        "attempts": int(attempts[0]) if attempts else 0,
        "statements": int(statements[0]) if statements else 0,
        "grades_sent": int(grades[0]) if grades else 0,
    }


# ------------------------------------------------------------------ main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=50)
    parser.add_argument(
        "--rate", type=float, default=1.0, help="answers a second per learner"
    )
    parser.add_argument(
        "--seconds", type=float, default=60.0, help="measured seconds per side"
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="alternate the sides this many times"
    )
    parser.add_argument(
        "--warmup", type=float, default=5.0, help="unmeasured seconds per side first"
    )
    parser.add_argument("--target-ms", type=float, default=100.0)
    parser.add_argument(
        "--search-steps",
        type=int,
        default=6,
        help="probes of the rate search (0: none)",
    )
    parser.add_argument(
        "--step-seconds", type=float, default=10.0, help="seconds per search probe"
    )
    parser.add_argument(
        "--workers", type=int, default=0, help="gunicorn workers (default 2*cores+1)"
    )
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    parser.add_argument(
        "--database", default="pathwise_bench_learner", help="PostgreSQL database"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/11")
    parser.add_argument(
        "--keep-database", action="store_true", help="do not drop the database after"
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.learners, args.seconds, args.warmup = 5, 3.0, 1.0
        args.rounds, args.search_steps, args.step_seconds = 1, 2, 2.0
    return args


def main() -> None:
    args = parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the LMS's request log
    workers = args.workers or 2 * (os.cpu_count() or 1) + 1
    workdir = Path(tempfile.mkdtemp(prefix="pathwise-bench-learner-"))
    conninfo = f"postgresql://postgres@127.0.0.1:5432/{args.database}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{args.database}"')
    redis.Redis.from_url(args.redis_url).flushdb()
    load_start = load_1min()
    log(f"load {load_start:.2f}; work directory {workdir}")

    pathwise = str(Path(sys.executable).parent / "pathwise")
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    with ExitStack() as stack:
        platform = stack.enter_context(served_lms())
        port = free_port()
        tool_url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            # The console scripts would import the installed (editable) checkout;
            # the servers must run the code this bench sits in.
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p
            ),
            "PATHWISE_ENV": "development",
            "DATABASE_URL": conninfo.replace("postgresql://", "postgresql+psycopg://"),
            "REDIS_URL": args.redis_url,
            "PATHWISE_SECRET_KEY": "bench-secret-" + "x" * 40,
            "PATHWISE_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "PATHWISE_BASE_URL": tool_url,
            "PATHWISE_DATA_DIR": str(workdir),
            "PATHWISE_LOG_LEVEL": "WARNING",
        }
        issuer = platform.issuer
        for command in (
            ["db", "upgrade"],
            ["catalogue", "import", str(DEMO_CATALOGUE)],
            [
                "platform",
                "add",
                "--issuer",
                issuer,
                "--client-id",
                CLIENT_ID,
                "--deployment-id",
                DEPLOYMENT_ID,
                "--auth-login-url",
                issuer + "/auth",
                "--auth-token-url",
                issuer + "/token",
                "--key-set-url",
                issuer + "/jwks",
            ],
        ):
            subprocess.run(
                [pathwise, *command], env=env, check=True, cwd=ROOT, capture_output=True
            )
        platform.add_tool(
            ToolConfig.for_tool_base(
                tool_url, client_id=CLIENT_ID, deployment_id=DEPLOYMENT_ID
            )
        )
        serve = [
            gunicorn,
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(args.threads),
            "--chdir",
            str(ROOT),
            "bench._learner_app:create_bench_app()",
        ]
        tool = stack.enter_context(
            process(serve, env, workdir / "serve.log", tool_url + "/healthz")
        )
        worker = subprocess.Popen(
            [pathwise, "worker"],
            env=env,
            cwd=ROOT,
            stdout=(workdir / "worker.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        stack.callback(stop, worker)
        servers = Servers(tool, worker, args.database)
        log(f"gunicorn {workers} workers x {args.threads} threads, an RQ worker")

        learners = launch_learners(platform, tool_url, args.learners)
        ids = bare_ids(conninfo, learners)
        answer = answer_sender(learners, seed=11)
        bare = bare_sender(learners, ids)
        rate = args.learners * args.rate

        def phase(send: Send, at: float, seconds: float) -> Callable[[], Run]:
            return lambda: in_client_process(
                learners,
                lambda: open_loop(
                    tool_url, send, learners=args.learners, rate=at, seconds=seconds
                ),
            )

        for label, send in (("answer", answer), ("bare", bare)):
            warm = phase(send, rate, args.warmup)()
            log(describe(f"warm-up {label}", rate, warm))
        totals = {"answer": Run(), "bare": Run()}
        rounds = max(1, args.rounds)
        for n in range(rounds):
            # Alternating, so a change in the machine (other work on the 2 cores)
            # falls on both sides alike.
            for label, send in (("answer", answer), ("bare", bare)):
                run = measured(servers, phase(send, rate, args.seconds / rounds))
                log(describe(f"round {n + 1}/{rounds} {label}", rate, run))
                totals[label].add(run)
        best = None
        if args.search_steps:
            best = step_search(
                lambda at: measured(servers, phase(answer, at, args.step_seconds)),
                rate,
                target_ms=args.target_ms,
                steps=args.search_steps,
            )
        # Let the worker drain what the answers queued, to show the write-backs happen.
        drain_until = time.monotonic() + 20
        while time.monotonic() < drain_until:
            counts = outbox_counts(conninfo)
            if counts["grades_sent"] >= len(learners):
                break
            time.sleep(0.5)
        counts = outbox_counts(conninfo)
        scores = len(platform.scores)

    for label, run in totals.items():
        if run.errors:
            log(f"{label}: {len(run.errors)} errors, first: {run.errors[0]}")
    print("backend: postgres+redis, gunicorn + an RQ worker")
    print(f"learners: {args.learners} learners")
    print(f"arrival_rate: {rate:.1f} /s")
    print(f"machine_load_1min_start: {load_start:.2f} load")
    report("answer", totals["answer"])
    report("bare", totals["bare"])
    ratio = totals["answer"].p(0.99) / totals["bare"].p(0.99)
    print(f"answer_p99_vs_bare: {ratio:.2f} x")
    if args.search_steps:
        print(
            f"answer_max_rate_p99_under_{args.target_ms:.0f}ms: "
            f"{best if best is not None else 0:.0f} /s"
        )
    print(f"attempt_rows: {counts['attempts']} rows")
    print(f"xapi_outbox_statements: {counts['statements']} statements")
    print(f"grades_sent_rows: {counts['grades_sent']} rows")
    print(f"lms_scores_received: {scores} scores")
    print(f"machine_load_1min_end: {load_1min():.2f} load")
    if not args.keep_database:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
    if any(run.errors for run in totals.values()):
        log(f"server and worker logs kept in {workdir}")
        sys.exit(1)
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
