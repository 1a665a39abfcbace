"""Bench: how fast the CLI starts a sync (`pathwise sync --help`, then a real sync).

Measures in the same run, each the median of ``--runs`` fresh processes:

- ``python_start_seconds``: the interpreter alone (the same-run baseline);
- ``cli_sync_help_seconds``: ``pathwise sync --help`` (imports, no database);
- ``cli_sync_first_request_seconds``: from starting ``pathwise sync`` to the LRS
  receiving its first request (settings, database, the connection, /about);
- ``cli_sync_help_to_python_ratio``: help time over the bare interpreter;
- ``cli_sync_help_no_bytecode_seconds``: the help again with no compiled bytecode
  (``PYTHONDONTWRITEBYTECODE=1`` and an empty ``PYTHONPYCACHEPREFIX``), as in a
  checkout Python cannot write ``__pycache__`` to: every module is compiled again on
  every call, which multiplies the start-up several times.

The LRS is a small loopback server that records when each request arrives and
answers an empty statement page; the database is a SQLite file made here. Target:
a sync's first request within 1.5 s. Run: ``python bench/cli_start.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402

from lti_tool.infra.crypto import configure_secrets  # noqa: E402
from lti_tool.infra.db import db, session_scope  # noqa: E402
from lti_tool.infra.models import Deployment, Registration  # noqa: E402
from lti_tool.schema import full_metadata  # noqa: E402
from xapi import connections  # noqa: E402

CLI = "from lti_tool.cli import main; main()"


class FirstRequest:
    """Monotonic-clock instants at which the fake LRS saw requests."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.lock = threading.Lock()


def make_lrs(seen: FirstRequest) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            with seen.lock:
                seen.times.append(time.monotonic())
            if self.path.startswith("/xAPI/about"):
                body: dict[str, Any] = {"version": ["1.0.3"]}
            else:
                body = {"statements": [], "more": ""}
            payload = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def timed(cmd: list[str], env: dict[str, str]) -> float:
    started = time.monotonic()
    subprocess.run(cmd, env=env, check=True, capture_output=True)  # noqa: S603
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="pathwise-cli-start-"))
    key = Fernet.generate_key().decode()
    database_url = f"sqlite:///{workdir / 'pathwise.sqlite'}"
    db.configure(database_url)
    full_metadata().create_all(db.engine)
    configure_secrets((key,))
    seen = FirstRequest()
    server = make_lrs(seen)
    with session_scope() as session:
        registration = Registration(
            name="bench",
            issuer="https://lms.bench.example",
            client_id="bench",
            auth_login_url="https://lms.bench.example/auth",
            auth_token_url="https://lms.bench.example/token",
        )
        session.add(registration)
        session.flush()
        tenant = Deployment(registration_id=registration.id, deployment_id="1")
        session.add(tenant)
        session.flush()
        connections.add_connection(
            session,
            tenant_id=tenant.id,
            name="bench",
            endpoint=f"http://127.0.0.1:{server.server_port}/xAPI/",
            username="bench",
            password="bench",
            actor="bench",
        )
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        PATHWISE_ENV="development",
        DATABASE_URL=database_url,
        REDIS_URL="",
        PATHWISE_SECRET_KEY="bench-secret-key-" + "x" * 32,
        PATHWISE_ENCRYPTION_KEY=key,
        PATHWISE_DATA_DIR=str(workdir),
        PATHWISE_LOG_LEVEL="WARNING",
    )
    python = [sys.executable]
    # One untimed run of each: compiled bytecode is then cached, as after install.
    timed([*python, "-c", CLI, "sync", "--help"], env)
    bare = statistics.median(
        timed([*python, "-c", "pass"], env) for _ in range(args.runs)
    )
    helps = statistics.median(
        timed([*python, "-c", CLI, "sync", "--help"], env) for _ in range(args.runs)
    )
    firsts = []
    for _ in range(args.runs):
        with seen.lock:
            seen.times.clear()
        started = time.monotonic()
        subprocess.run(  # noqa: S603
            [*python, "-c", CLI, "sync"], env=env, check=True, capture_output=True
        )
        with seen.lock:
            if not seen.times:
                sys.exit("the sync never reached the LRS")
            firsts.append(seen.times[0] - started)
    server.shutdown()
    first = statistics.median(firsts)
    print(f"python_start_seconds: {bare:.3f} s")
    print(f"cli_sync_help_seconds: {helps:.3f} s")
    print(f"cli_sync_help_to_python_ratio: {helps / bare:.1f} x")
    print(f"cli_sync_first_request_seconds: {first:.3f} s")
    cold_env = dict(
        env,
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONPYCACHEPREFIX=str(workdir / "no-bytecode"),
    )
    cold = statistics.median(
        timed([*python, "-c", CLI, "sync", "--help"], cold_env)
        for _ in range(args.runs)
    )
    print(f"cli_sync_help_no_bytecode_seconds: {cold:.3f} s")
    print(f"cli_sync_help_no_bytecode_to_cached_ratio: {cold / helps:.1f} x")
    print(f"machine_load_1min: {os.getloadavg()[0]:.2f} load")


if __name__ == "__main__":
    main()
