"""Benchmark: complete LTI 1.3 launches against `pathwise serve` on PostgreSQL + Redis.

Each launch is what a browser does: OIDC login initiation (POST /lti/login) → the
tool's redirect to the LMS's auth endpoint (answered by the LMS: a signed id_token) →
POST /lti/launch → the landing page. The LMS side is the development platform played
in the client processes (it signs with its own RSA key; the tool fetches its JWKS over
HTTP). In the same run the same client drives a minimal tool that only calls
pylti1p3's own OIDC login and message-launch validation (bench/_baseline_tool.py), and
our throughput is printed as a ratio of that baseline.

How it is fair: both servers run at once (an idle one costs nothing) and the sides
alternate in ``--rounds`` rounds, so the machine's drift falls on both; each round
runs for a fixed time, which starts only when every client process has started and
built its learners (a barrier), and counts launches finished within it (no tail with
few clients left). The same class of 400 learners returns in every round; each one's
first launch creates their person, enrolment and learner profile. Besides
launches/s, p50 and p99, each side prints the CPU its server, PostgreSQL and the
clients used per launch (from /proc), which is where the ratio comes from on 2 cores.

    python bench/launch.py                 # 32 concurrent clients, 40 s each side in 4 rounds
    python bench/launch.py --quick         # a smoke run (SQLite unless --postgres given)
    python bench/launch.py --no-baseline   # Pathwise only, for iterating

Needs PostgreSQL (127.0.0.1:5432, trust) and Redis (127.0.0.1:6379) unless --quick.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing as mp
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlparse

import requests
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lti_tool.devplatform.keys import generate_rsa_key, public_jwk  # noqa: E402
from lti_tool.devplatform.model import LEARNER, SampleUser, ToolConfig  # noqa: E402
from lti_tool.devplatform.platform import DevPlatform  # noqa: E402
from lti_tool.devplatform.vocabulary import DEMO_COURSE_ID  # noqa: E402

CLIENT_ID = "bench-client"
LEARNERS_PER_PROCESS = 200
DEMO_CATALOGUE = ROOT / "lti_tool" / "demo" / "ai_readiness.json"
DEPLOYMENT_ID = "bench-deployment"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited early:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"server did not start:\n{log.read_text()[-3000:]}")


@contextmanager
def jwks_server(jwks: dict[str, Any]) -> Iterator[str]:
    """The LMS's key set URL, served over HTTP as a real platform would."""
    from flask import Flask

    app = Flask("bench_lms_jwks")
    app.add_url_rule("/dev-platform/jwks", "jwks", lambda: jwks)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/dev-platform"
    finally:
        server.shutdown()


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_stat(pid: str) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of a process from /proc, or None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def server_cpu_s(root_pid: int) -> float:
    """CPU seconds used so far by a server process and its direct children (workers)."""
    total = 0.0
    for pid in os.listdir("/proc") if Path("/proc").is_dir() else ():
        if not pid.isdigit():
            continue
        stat = _proc_stat(pid)
        if stat is not None and (int(pid) == root_pid or stat[0] == root_pid):
            total += stat[1]
    return total


def database_cpu_s(database: str) -> float:
    """CPU seconds used so far by PostgreSQL backends serving ``database``."""
    total = 0.0
    for pid in os.listdir("/proc") if Path("/proc").is_dir() else ():
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if cmdline.startswith("postgres:") and f" {database} " in cmdline:
            stat = _proc_stat(pid)
            total += stat[1] if stat else 0.0
    return total


@contextmanager
def process(
    cmd: list[str], env: dict[str, str], log: Path, health: str
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT
        )
        try:
            wait_healthy(health, proc, log)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def prepare_database(url: str, quick: bool) -> None:
    if url.startswith("postgresql"):
        import psycopg

        name = urlparse(url).path.lstrip("/")
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')


# ------------------------------------------------------------------ clients


def _form_fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'name="([^"]+)"[^>]*value="([^"]*)"', html))


def one_launch(
    http: requests.Session,
    platform: DevPlatform,
    tool_url: str,
    style: str,
    user: SampleUser = LEARNER,
) -> None:
    # Each launch is a new browser visit: no cookie jar growing across launches
    # (pylti1p3's Flask session would otherwise outgrow the server's header limit).
    http.cookies.clear()
    initiation = platform.start_launch(user, client_id=CLIENT_ID)
    login_url = tool_url + ("/lti/login" if style == "pathwise" else "/login")
    response = http.post(
        login_url, data=initiation.params, allow_redirects=False, timeout=30
    )
    if response.status_code != 302:
        sent = response.request.headers.get("Cookie", "")
        raise RuntimeError(
            f"login {response.status_code} (cookie header {len(sent)} bytes: "
            f"{sent[:120]}): {response.text[:300]}"
        )
    location = urljoin(login_url, response.headers["Location"])
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
    # Every learner landing runs the engine (the launch records its next step): a
    # first launch lands on the placement check, a later one on the path page.
    engine_ran = style != "pathwise" or any(
        mark in response.text for mark in ("Your next step", "data-placement")
    )
    if response.status_code != 200 or user.name not in response.text or not engine_ran:
        sent = response.request.headers.get("Cookie", "")
        raise RuntimeError(
            f"launch {response.status_code} (cookie header {len(sent)} bytes: "
            f"{sent[:200]}): {response.text[:300]}"
        )


def client_worker(
    key_pem: bytes,
    issuer: str,
    tool_url: str,
    style: str,
    threads: int,
    duration_s: float,
    cohort: str,
    start: Any,
    out: Any,
) -> None:
    """One client process: ``threads`` browsers launching until ``duration_s`` is up.

    ``cohort`` names the learners, so later rounds launch the same people again;
    ``start`` is a barrier: the clock starts when every client is set up.
    """
    key = serialization.load_pem_private_key(key_pem, password=None)
    platform = DevPlatform(issuer, key=key, seed=True)  # type: ignore[arg-type]
    platform.add_tool(
        ToolConfig.for_tool_base(
            tool_url, client_id=CLIENT_ID, deployment_id=DEPLOYMENT_ID
        )
        if style == "pathwise"
        else ToolConfig(
            client_id=CLIENT_ID,
            deployment_id=DEPLOYMENT_ID,
            login_url=tool_url + "/login",
            redirect_uris=(tool_url + "/launch",),
            jwks_url=tool_url + "/jwks",
            launch_url=tool_url + "/launch",
            deep_link_url=tool_url + "/launch",
        )
    )
    # A class of distinct learners: one person launching 32 times at once would
    # measure row-lock waits on that person, not what a cohort does.
    learners = [
        platform.add_user(
            replace(
                LEARNER,
                sub=f"bench-{cohort}-{i}",
                name=f"Learner {cohort}-{i}",
                given_name="Learner",
                family_name=f"{cohort}-{i}",
                email=f"learner{cohort}-{i}@example.com",
            ),
            course_id=DEMO_COURSE_ID,
        )
        for i in range(LEARNERS_PER_PROCESS)
    ]
    counter = itertools.count()
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    finished = [0]  # every launch that ended, in time or not: the CPU divisor
    deadline = [0.0]

    def run() -> None:
        http = requests.Session()
        while time.perf_counter() < deadline[0]:
            began = time.perf_counter()
            user = learners[next(counter) % len(learners)]
            try:
                one_launch(http, platform, tool_url, style, user)
            except Exception as exc:  # noqa: BLE001 - counted and reported
                with lock:
                    errors.append(str(exc)[:300])
                    finished[0] += 1
                continue
            ended = time.perf_counter()
            with lock:
                finished[0] += 1
                if (
                    ended <= deadline[0]
                ):  # a launch still running at the end is not counted
                    latencies.append(ended - began)

    # A fixed duration, not a fixed count: no tail where only a few clients still run.
    workers = [threading.Thread(target=run) for _ in range(threads)]
    start.wait()
    deadline[0] = time.perf_counter() + duration_s
    cpu_at_start = time.process_time()  # the launches only, not imports and set-up
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    out.put((latencies, errors, time.process_time() - cpu_at_start, finished[0]))


@dataclass
class Run:
    """One measured batch of launches, with where the CPU went (seconds)."""

    elapsed: float
    latencies: list[float]
    errors: list[str]
    finished: int = 0
    client_cpu_s: float = 0.0
    server_cpu_s: float = 0.0
    database_cpu_s: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed

    def per_launch_ms(self, seconds: float) -> float:
        return seconds / max(1, self.finished) * 1000

    def add(self, other: Run) -> None:
        self.elapsed += other.elapsed
        self.latencies += other.latencies
        self.errors += other.errors
        self.finished += other.finished
        self.client_cpu_s += other.client_cpu_s
        self.server_cpu_s += other.server_cpu_s
        self.database_cpu_s += other.database_cpu_s


def measured(
    server: subprocess.Popen[bytes], database: str | None, run: Callable[[], Run]
) -> Run:
    server_before = server_cpu_s(server.pid)
    db_before = database_cpu_s(database) if database else 0.0
    result = run()
    result.server_cpu_s = server_cpu_s(server.pid) - server_before
    result.database_cpu_s = (database_cpu_s(database) - db_before) if database else 0.0
    return result


def drive(
    key_pem: bytes,
    issuer: str,
    tool_url: str,
    style: str,
    concurrency: int,
    duration_s: float,
    processes: int,
    cohort: str = "",
) -> Run:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    threads = max(1, concurrency // processes)
    start = ctx.Barrier(processes + 1)
    procs = [
        ctx.Process(
            target=client_worker,
            args=(
                key_pem,
                issuer,
                tool_url,
                style,
                threads,
                duration_s,
                f"{cohort or style}{index}",
                start,
                queue,
            ),
        )
        for index in range(processes)
    ]
    for p in procs:
        p.start()
    start.wait()  # every client has imported, built its LMS and its learners
    latencies: list[float] = []
    errors: list[str] = []
    client_cpu = 0.0
    finished = 0
    for _ in procs:
        lat, err, cpu, done = queue.get()
        latencies += lat
        errors += err
        client_cpu += cpu
        finished += done
    for p in procs:
        p.join()
    return Run(duration_s, latencies, errors, finished, client_cpu_s=client_cpu)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def report(label: str, run: Run, *, database: bool) -> None:
    """One side's figures; ``label`` prefixes the names ("" for Pathwise)."""
    print(f"{label}launches_per_s: {run.rate:.1f} /s")
    print(f"{label}launch_p50: {statistics.median(run.latencies) * 1000:.1f} ms")
    print(f"{label}launch_p99: {percentile(run.latencies, 0.99) * 1000:.1f} ms")
    print(f"{label}launch_failures: {len(run.errors)} launches")
    # Where each launch's CPU went: the client processes share the same 2 cores.
    print(f"{label}server_cpu_per_launch: {run.per_launch_ms(run.server_cpu_s):.2f} ms")
    if database:
        print(
            f"{label}postgres_cpu_per_launch: "
            f"{run.per_launch_ms(run.database_cpu_s):.2f} ms"
        )
    print(f"{label}client_cpu_per_launch: {run.per_launch_ms(run.client_cpu_s):.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--seconds", type=float, default=40.0, help="measured seconds per side"
    )
    parser.add_argument(
        "--warmup", type=float, default=3.0, help="unmeasured seconds per side first"
    )
    parser.add_argument(
        "--workers", type=int, default=0, help="gunicorn workers (default 2*cores+1)"
    )
    parser.add_argument(
        "--threads", type=int, default=4, help="gunicorn threads per worker"
    )
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument(
        "--quick", action="store_true", help="small run on SQLite, embedded state"
    )
    parser.add_argument(
        "--postgres", action="store_true", help="with --quick: still use Postgres+Redis"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=4,
        help="alternate the two sides this many times (the seconds split evenly)",
    )
    parser.add_argument(
        "--no-baseline",
        action="store_true",
        help="measure Pathwise only (for iterating; prints no ratio)",
    )
    args = parser.parse_args()
    if args.quick:
        args.concurrency, args.seconds, args.warmup = min(args.concurrency, 4), 4.0, 1.0
        args.client_processes = 1
    workers = args.workers or 2 * (os.cpu_count() or 1) + 1

    workdir = Path(tempfile.mkdtemp(prefix="pathwise-bench-"))
    use_services = not args.quick or args.postgres
    database_url = (
        "postgresql+psycopg://postgres@127.0.0.1:5432/pathwise_bench"
        if use_services
        else f"sqlite:///{workdir / 'bench.sqlite'}"
    )
    redis_url = "redis://127.0.0.1:6379/12" if use_services else ""
    prepare_database(database_url, args.quick)
    if redis_url:
        import redis

        redis.Redis.from_url(redis_url).flushdb()

    lms_key = generate_rsa_key()
    key_pem = lms_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    pathwise = shutil.which("pathwise") or str(Path(sys.executable).parent / "pathwise")
    with jwks_server({"keys": [public_jwk(lms_key)]}) as issuer:
        port = free_port()
        tool_url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "PATHWISE_ENV": "development",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "PATHWISE_SECRET_KEY": "bench-secret-" + "x" * 40,
            "PATHWISE_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "PATHWISE_BASE_URL": tool_url,
            "PATHWISE_DATA_DIR": str(workdir),
            "PATHWISE_LOG_LEVEL": "WARNING",
        }
        subprocess.run(
            [pathwise, "db", "upgrade"],
            env=env,
            check=True,
            cwd=ROOT,
            capture_output=True,
        )
        # The launched link names a demo module, so every landing page runs the engine.
        subprocess.run(
            [pathwise, "catalogue", "import", str(DEMO_CATALOGUE)],
            env=env,
            check=True,
            cwd=ROOT,
            capture_output=True,
        )
        subprocess.run(
            [
                pathwise,
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
            env=env,
            check=True,
            cwd=ROOT,
            capture_output=True,
        )
        serve = [
            pathwise,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--threads",
            str(args.threads),
        ]
        base_port = free_port()
        base_url = f"http://127.0.0.1:{base_port}"
        base_env = {
            **env,
            "BENCH_LMS_ISSUER": issuer,
            "BENCH_CLIENT_ID": CLIENT_ID,
            "BENCH_DEPLOYMENT_ID": DEPLOYMENT_ID,
            "BENCH_TOOL_URL": base_url,
        }
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        baseline_cmd = [
            gunicorn,
            "--bind",
            f"127.0.0.1:{base_port}",
            "--workers",
            str(workers),
            "--threads",
            str(args.threads),
            "--chdir",
            str(ROOT / "bench"),
            "_baseline_tool:app",
        ]
        database = urlparse(database_url).path.lstrip("/") if use_services else None
        sides = [("pathwise", tool_url, database)]
        if not args.no_baseline:
            sides.append(("baseline", base_url, None))
        totals = {name: Run(0.0, [], []) for name, _, _ in sides}
        with ExitStack() as stack:
            servers = {
                "pathwise": stack.enter_context(
                    process(serve, env, workdir / "serve.log", tool_url + "/healthz")
                )
            }
            if not args.no_baseline:
                servers["baseline"] = stack.enter_context(
                    process(
                        baseline_cmd,
                        base_env,
                        workdir / "baseline.log",
                        base_url + "/healthz",
                    )
                )
            for name, url, _db in sides:
                drive(
                    key_pem,
                    issuer,
                    url,
                    name,
                    args.concurrency,
                    args.warmup,
                    args.client_processes,
                    cohort="warmup",
                )
            # Alternate the sides in rounds, so a change in the machine's speed during
            # the run (other tenants of the host, thermal) falls on both alike.
            rounds = max(1, args.rounds)
            for _round in range(rounds):
                for name, url, db_name in sides:
                    totals[name].add(
                        measured(
                            servers[name],
                            db_name,
                            partial(
                                drive,
                                key_pem,
                                issuer,
                                url,
                                name,
                                args.concurrency,
                                args.seconds / rounds,
                                args.client_processes,
                            ),
                        )
                    )

    ours = totals["pathwise"]
    for name, run in totals.items():
        if run.errors:
            print(
                f"# {name}: {len(run.errors)} failed launches, first: {run.errors[0]}",
                file=sys.stderr,
            )
    if not all(run.latencies for run in totals.values()):
        print(f"# server logs kept in {workdir}", file=sys.stderr)
        sys.exit(1)
    print(f"backend: {'postgres+redis' if use_services else 'sqlite'}")
    print(f"concurrent_clients: {args.concurrency} clients")
    report("", ours, database=use_services)
    if "baseline" in totals:
        base = totals["baseline"]
        report("baseline_", base, database=False)
        print(f"throughput_ratio_vs_pylti1p3: {ours.rate / base.rate:.2f} x")
    shutil.rmtree(workdir, ignore_errors=True)
    if any(run.errors for run in totals.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
