"""Bench: LRS sync end to end (page fetch -> parse -> rules -> evidence committed).

Starts the real LRS (xapi-statements, in memory), loads realistic statements with
batched POSTs (about 20% work signals, some voided, some from people who never
launched), then measures in the same run:

- ``lrs_raw_paging_per_s``: paging through every statement alone (fetch + JSON);
- ``sync_statements_per_s``: Pathwise's sync of the same statements into evidence rows
  committed to the database (``DATABASE_URL``; Postgres for real figures);
- ``sync_to_raw_ratio``: the two divided.

Both read pages of ``--page-size`` statements (20,000 by default: this LRS filters
and sorts its whole in-memory store for every page, so bigger pages are much cheaper
for it) from the same loaded LRS. The sync is Pathwise's real one: a thread fetches
the next page while this one is judged, and evidence is committed by writer threads
on their own connections (Postgres), so the database work overlaps both.

Loading is not measured, and it is slow: this LRS's in-memory store scans all it
holds for every batch, so loading grows roughly quadratically, even with its
reference bookkeeping switched off (``SERVICE_UPDATE_REFS=false``, see
``start_lrs``); the default 200,000 statements take many minutes on a 2-core
machine (progress goes to stderr). Run: ``python bench/ingest.py [--quick] [--statements N]``.
The bench creates its own tenant and deletes it afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402
from sqlalchemy import delete, func, select  # noqa: E402

from adaptive.models import Activity, ActivitySkill, Evidence, Framework, Skill  # noqa: E402
from lti_tool.infra.crypto import configure_secrets  # noqa: E402
from lti_tool.infra.db import db, session_scope  # noqa: E402
from lti_tool.infra.models import Deployment, Person, Registration  # noqa: E402
from lti_tool.infra.outbound import configure_outbound  # noqa: E402
from lti_tool.schema import full_metadata  # noqa: E402
from xapi import connections, sync  # noqa: E402
from xapi.client import LrsClient  # noqa: E402
from xapi.core import profile  # noqa: E402
from xapi.core.formats import parse_timestamp  # noqa: E402
from xapi.models import DEFAULT_PAGE_SIZE, VoidedStatement  # noqa: E402
from xapi.statement_query import StatementQuery  # noqa: E402

LRS_DIR = Path(
    os.environ.get(
        "PATHWISE_TEST_LRS_DIR",
        str(ROOT / ".cache" / "lrs" / "node_modules" / "xapi-statements"),
    )
)
ADL = "http://adlnet.gov/expapi/verbs/"
ISSUER = "https://lms.bench.example"
SKILLS = ["code-review", "customer-support", "sales-conversation"] + [
    f"skill-{i}" for i in range(60)
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_lrs(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    if shutil.which("node") is None or not (LRS_DIR / "dist" / "index.js").exists():
        sys.exit(f"the LRS is not installed in {LRS_DIR} (run: python3 dev.py test)")
    port = free_port()
    env = dict(
        os.environ,
        MODELS_REPO="memory",
        STORAGE_REPO="local",
        AUTH_REPO="test",
        EVENTS_REPO="test",
        EXPRESS_PORT=str(port),
        FS_LOCAL_STORAGE_DIR=str(data_dir),
        WINSTON_CONSOLE_LEVEL="warn",
        # Skip the statement-reference bookkeeping that only agent/activity-filtered
        # queries use (a full pass over the store per voiding statement: most of the
        # load time). Both measured reads are unfiltered pages, stored the same way.
        SERVICE_UPDATE_REFS="false",
    )
    process = subprocess.Popen(
        ["node", "--max-old-space-size=4096", "dist/index.js"],
        cwd=LRS_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}/xAPI/"
    for _ in range(300):
        try:
            if requests.get(endpoint + "about", timeout=1).status_code == 200:
                return process, endpoint
        except requests.RequestException:
            time.sleep(0.1)
    process.kill()
    sys.exit("the LRS did not start")


def make_tenant(people: int, courses: int) -> tuple[int, int, list[str]]:
    """A tenant with people, skills and skill-tagged course activities."""
    with session_scope() as session:
        registration = Registration(
            name="bench",
            issuer=ISSUER,
            client_id=f"bench-{uuid.uuid4().hex[:10]}",
            auth_login_url=ISSUER + "/auth",
            auth_token_url=ISSUER + "/token",
        )
        session.add(registration)
        session.flush()
        deployment = Deployment(registration_id=registration.id, deployment_id="1")
        session.add(deployment)
        session.flush()
        session.add_all(
            Person(tenant_id=deployment.id, sub=f"p{i}", name=f"P{i}")
            for i in range(people)
        )
        framework = Framework(tenant_id=deployment.id, key="bench", name="Bench")
        session.add(framework)
        session.flush()
        skills = [Skill(framework_id=framework.id, key=k, name=k) for k in SKILLS]
        session.add_all(skills)
        session.flush()
        urls = []
        for index in range(courses):
            url = f"https://courses.bench.example/c{index}"
            activity = Activity(
                framework_id=framework.id, key=f"c{index}", title=url, url=url
            )
            session.add(activity)
            session.flush()
            for skill in (skills[3 + index % 60], skills[3 + (index * 7) % 60]):
                session.merge(ActivitySkill(activity_id=activity.id, skill_id=skill.id))
            urls.append(url)
        return registration.id, deployment.id, urls


def make_statements(
    count: int, people: int, urls: list[str], seed: int
) -> list[dict[str, Any]]:
    """Realistic mix: LMS course statements, ~20% work signals, some strangers."""
    rng = random.Random(seed)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    out: list[dict[str, Any]] = []
    for index in range(count):
        person = (
            f"p{rng.randrange(people)}"
            if rng.random() > 0.03
            else f"x{rng.randrange(500)}"
        )
        statement: dict[str, Any] = {
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "actor": {
                "objectType": "Agent",
                "account": {"homePage": ISSUER, "name": person},
            },
            "timestamp": (start + dt.timedelta(seconds=index * 13)).isoformat(),
        }
        roll = rng.random()
        if roll < 0.20:
            kind = rng.random()
            if kind < 0.4:
                statement["verb"] = {"id": profile.WORK_VERB_APPROVED}
                statement["object"] = {
                    "id": f"https://git.bench.example/pr/{index}",
                    "definition": {"type": profile.WORK_TYPE_CODE_REVIEW},
                }
                statement["context"] = {
                    "extensions": {profile.EXT_SKILLS: [f"skill-{rng.randrange(60)}"]}
                }
            elif kind < 0.75:
                statement["verb"] = {"id": profile.WORK_VERB_RESOLVED}
                statement["object"] = {
                    "id": f"https://support.bench.example/t/{index}",
                    "definition": {"type": profile.WORK_TYPE_TICKET},
                }
                statement["result"] = {
                    "extensions": {profile.EXT_CSAT: rng.randint(1, 5)}
                }
            else:
                statement["verb"] = {"id": profile.WORK_VERB_SCORED}
                statement["object"] = {
                    "id": f"https://calls.bench.example/c/{index}",
                    "definition": {"type": profile.WORK_TYPE_SALES_CALL},
                }
                statement["result"] = {"score": {"scaled": round(rng.random(), 3)}}
        else:
            verb = rng.choice(
                ["passed", "failed", "completed", "scored", "answered", "experienced"]
            )
            statement["verb"] = {"id": ADL + verb, "display": {"en-US": verb}}
            statement["object"] = {
                "id": rng.choice(urls),
                "definition": {"type": "http://adlnet.gov/expapi/activities/course"},
            }
            if verb in ("scored", "answered", "passed", "failed"):
                scaled = round(rng.random(), 3)
                statement["result"] = {
                    "score": {"scaled": scaled},
                    "success": scaled >= 0.6,
                }
        out.append(statement)
        if rng.random() < 0.01 and out:
            target = out[rng.randrange(len(out))]
            if target["verb"]["id"] != ADL + "voided":
                out.append(
                    {
                        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                        "actor": {
                            "objectType": "Agent",
                            "mbox": "mailto:admin@bench.example",
                        },
                        "verb": {"id": ADL + "voided"},
                        "object": {"objectType": "StatementRef", "id": target["id"]},
                    }
                )
    return out[:count]


def load(
    endpoint: str,
    statements: list[dict[str, Any]],
    batch: int = 1000,
    void_batch: int = 50,
) -> float:
    """POST in batches (voiding statements after their targets); returns seconds."""
    client = LrsClient(endpoint, "bench", "bench", read_timeout_s=300)
    ordinary = [s for s in statements if s["verb"]["id"] != ADL + "voided"]
    voiding = [s for s in statements if s["verb"]["id"] == ADL + "voided"]
    present = {s["id"] for s in ordinary}
    voiding = [s for s in voiding if s["object"]["id"] in present]
    started = time.perf_counter()
    # One batch at a time: concurrent POSTs would share a `stored` instant.
    for i in range(0, len(ordinary), batch):
        client.post_statements(ordinary[i : i + batch])
        if (i // batch) % 20 == 19:
            print(
                f"loaded {i + batch} statements in "
                f"{time.perf_counter() - started:.0f} s",
                file=sys.stderr,
                flush=True,
            )
    # A statement can only be voided once it is stored.
    seen: set[str] = set()
    unique = []
    for statement in voiding:
        if statement["object"]["id"] not in seen:
            seen.add(statement["object"]["id"])
            unique.append(statement)
    # Small batches: this LRS's work for a voiding batch grows faster than its size.
    for i in range(0, len(unique), void_batch):
        client.post_statements(unique[i : i + void_batch])
    print(
        f"loaded {len(ordinary)} + {len(unique)} voiding statements "
        f"in {time.perf_counter() - started:.0f} s",
        file=sys.stderr,
    )
    return time.perf_counter() - started


def raw_paging(endpoint: str, page_size: int) -> tuple[int, float]:
    """Read every statement as fast as the LRS pages (no processing at all).

    Like the sync, it asks again from the last ``stored`` when ``more`` ends early
    (xapi-statements 5 loses its cursor every few minutes of stored time).
    """
    client = LrsClient(endpoint, "bench", "bench", read_timeout_s=300)
    started = time.perf_counter()
    seen: set[str] = set()
    since: dt.datetime | None = None
    while True:
        before = len(seen)
        last: dt.datetime | None = None
        query = StatementQuery(limit=page_size, ascending=True, since=since)
        for page in client.iter_pages(query):
            for statement in page.statements:
                seen.add(statement["id"])
            if page.statements:
                last = parse_timestamp(page.statements[-1].get("stored"))
        if len(seen) == before or last is None:
            break
        since = last - dt.timedelta(milliseconds=1)
    return len(seen), time.perf_counter() - started


def best_raw_rate(endpoint: str, page_size: int) -> tuple[int, float]:
    """Statements held and the best of two raw paging rates (statements/s)."""
    count, seconds = min(
        (raw_paging(endpoint, page_size) for _ in range(2)), key=lambda r: r[1]
    )
    return count, count / seconds


def timed_sync(
    tenant_id: int, endpoint: str, page_size: int, expected: int
) -> tuple[float, float, sync.SyncReport]:
    """A first sync of every statement by a new connection into an empty evidence
    table; returns (statements/s, seconds, report)."""
    with session_scope() as session:
        # Each measured sync writes every row again, as the first one did.
        session.execute(delete(Evidence).where(Evidence.tenant_id == tenant_id))
        session.execute(
            delete(VoidedStatement).where(VoidedStatement.tenant_id == tenant_id)
        )
        connection_id = connections.add_connection(
            session,
            tenant_id=tenant_id,
            name=f"bench {page_size}",
            endpoint=endpoint,
            username="bench",
            password="bench",
            actor="bench",
            page_size=page_size,
        ).id
    started = time.perf_counter()
    with session_scope() as session:
        report = sync.sync_connection(
            session, connection_id=connection_id, checkpoint=session.commit
        )
    seconds = time.perf_counter() - started
    if not report.complete:
        sys.exit(f"sync did not complete: {report.error}")
    distinct = report.counters["fetched"] - report.counters["duplicates"]
    if distinct < expected:
        sys.exit(f"sync read {distinct} distinct statements, the LRS holds {expected}")
    if distinct > expected:
        # xapi-statements' `more` chain can serve older pages again; ids older than
        # the overlap are not remembered, so they are judged (not stored) twice.
        print(
            f"sync_page_{page_size}_judged_again: {distinct - expected} statements",
            file=sys.stderr,
        )
    # Rate over the LRS's statements (re-reads of the overlap are not counted).
    return expected / seconds, seconds, report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 statements")
    parser.add_argument("--statements", type=int, default=None)
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--page-size", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--sweep",
        type=lambda text: [int(x) for x in text.split(",") if x],
        default=[],
        help="Also measure these page sizes, e.g. 2000,5000,10000",
    )
    args = parser.parse_args(argv)
    count = args.statements or (5000 if args.quick else 200_000)

    workdir = Path(tempfile.mkdtemp(prefix="pathwise-ingest-"))
    database_url = (
        os.environ.get("DATABASE_URL") or f"sqlite:///{workdir / 'bench.sqlite'}"
    )
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]
    db.configure(database_url)
    full_metadata().create_all(db.engine)
    configure_secrets((Fernet.generate_key().decode(),))
    # The benchmark's LRS runs on loopback, as in development.
    configure_outbound(guard_internal=False, allow_hosts=())
    print(f"database: {db.engine.dialect.name}", file=sys.stderr)

    process, endpoint = start_lrs(workdir / "lrs")
    registration_id = tenant_id = 0
    try:
        registration_id, tenant_id, urls = make_tenant(args.people, 200)
        statements = make_statements(count, args.people, urls, args.seed)
        load_s = load(endpoint, statements)
        print(f"lrs_load_seconds: {load_s:.0f} s")
        print(f"lrs_load_per_s: {len(statements) / load_s:.0f} /s")

        # The LRS (node) is slow until its JIT warms up: one untimed pass first,
        # then the best of two timed passes, so the ratio is not flattered.
        raw_paging(endpoint, args.page_size)
        raw_count, raw_rate = best_raw_rate(endpoint, args.page_size)
        print(f"lrs_statements: {raw_count} statements")
        print(f"lrs_raw_paging_per_s: {raw_rate:.0f} /s")
        sync_rate, sync_s, report = timed_sync(
            tenant_id, endpoint, args.page_size, raw_count
        )
        with session_scope() as session:
            rows = session.scalar(
                select(func.count())
                .select_from(Evidence)
                .where(Evidence.tenant_id == tenant_id)
            )
            voided = session.scalar(
                select(func.count())
                .select_from(Evidence)
                .where(Evidence.tenant_id == tenant_id, Evidence.voided.is_(True))
            )
        print(f"sync_statements_per_s: {sync_rate:.0f} /s")
        print(f"sync_to_raw_ratio: {sync_rate / raw_rate:.2f} x")
        print(f"sync_seconds: {sync_s:.2f} s")
        print(f"evidence_rows: {rows} rows")
        print(f"evidence_rows_voided: {voided} rows")
        print(f"machine_load_1min: {os.getloadavg()[0]:.2f} load")
        for name in (
            "matched",
            "unmatched_rule",
            "unmatched_actor",
            "voiding",
            "no_skill",
        ):
            print(f"sync_{name}: {report.counters[name]} statements")

        # The same at the page size a new connection gets (what an admin runs).
        default = DEFAULT_PAGE_SIZE
        if default == args.page_size:
            default_raw, default_sync = raw_rate, sync_rate
        else:
            default_raw = best_raw_rate(endpoint, default)[1]
            default_sync = timed_sync(tenant_id, endpoint, default, raw_count)[0]
        print(f"default_page_size: {default} statements")
        print(f"lrs_raw_paging_default_per_s: {default_raw:.0f} /s")
        print(f"sync_default_statements_per_s: {default_sync:.0f} /s")
        print(f"sync_default_to_raw_ratio: {default_sync / default_raw:.2f} x")
        # Page-size guidance (docs/operations.md): both rates at other sizes.
        for size in args.sweep:
            swept_raw = best_raw_rate(endpoint, size)[1]
            swept_sync = timed_sync(tenant_id, endpoint, size, raw_count)[0]
            print(f"lrs_raw_paging_page_{size}_per_s: {swept_raw:.0f} /s")
            print(f"sync_page_{size}_statements_per_s: {swept_sync:.0f} /s")
            print(f"sync_page_{size}_to_raw_ratio: {swept_sync / swept_raw:.2f} x")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            # Busy in a long request, node does not stop on SIGTERM.
            process.kill()
            process.wait(timeout=10)
        if registration_id:
            with session_scope() as session:
                session.execute(
                    delete(Registration).where(Registration.id == registration_id)
                )
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
