"""Benchmark support: open-loop arrivals, their latencies and a rate search (bench/learner.py).

Every request has a send time fixed in advance and is sent then, however many earlier
ones are still unanswered; latency counts from that scheduled time, so a slow server
cannot hide its queueing by slowing the client (coordinated omission).
"""

from __future__ import annotations

import http.client
import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlparse

from bench.launch import percentile


def log(message: str) -> None:
    """Progress for the person running the bench (stdout carries only figures)."""
    print(f"# {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def load_1min() -> float:
    return os.getloadavg()[0]


@dataclass
class Run:
    """One open-loop phase: per-request latency from its scheduled send time."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    sent: int = 0
    max_send_lag_s: float = 0.0
    seconds: float = 0.0
    server_cpu_s: float = 0.0
    database_cpu_s: float = 0.0
    worker_cpu_s: float = 0.0
    load_end: float = 0.0

    def add(self, other: Run) -> None:
        self.latencies += other.latencies
        self.errors += other.errors
        self.sent += other.sent
        self.max_send_lag_s = max(self.max_send_lag_s, other.max_send_lag_s)
        self.seconds += other.seconds
        self.server_cpu_s += other.server_cpu_s
        self.database_cpu_s += other.database_cpu_s
        self.worker_cpu_s += other.worker_cpu_s
        self.load_end = other.load_end

    def p(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000


# A reused keep-alive connection the server had already closed.
_STALE = (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected)
# One request: (connection, learner index) -> (HTTP status, body).
Send = Callable[[http.client.HTTPConnection, int], tuple[int, bytes]]


def open_loop(
    tool_url: str, send: Send, *, learners: int, rate: float, seconds: float
) -> Run:
    """Send ``rate`` requests a second for ``seconds``, each at its scheduled time.

    Learner ``j``'s ``k``-th request is due at ``(k + j / learners) / per_learner``;
    a pool of connections sends each as soon as it is due, however many are still
    waiting for an answer. A request unanswered after 30 s counts as an error.
    """
    host, port = urlparse(tool_url).hostname or "", urlparse(tool_url).port or 80
    per_learner = rate / learners
    total = max(1, round(rate * seconds))
    due: queue.Queue[tuple[float, int] | None] = queue.Queue()
    run = Run(seconds=seconds)
    lock = threading.Lock()
    # Enough connections that the client never runs out while the server queues:
    # in-flight requests = rate x latency; beyond that the server is overloaded anyway.
    pool_size = min(400, max(16, int(rate * 0.5)))

    def worker() -> None:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        while (item := due.get()) is not None:
            scheduled, learner = item
            try:
                try:
                    status, body = send(conn, learner)
                except _STALE:
                    # gunicorn closes a keep-alive connection idle for 2 s; the
                    # request never reached a worker, so send it again on a new
                    # one, as HTTP clients do (an answer is idempotent anyway).
                    conn.close()
                    conn = http.client.HTTPConnection(host, port, timeout=30)
                    status, body = send(conn, learner)
                error = None if status in (200, 201) else f"{status}: {body[:200]!r}"
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=30)
                error = f"{type(exc).__name__}: {exc}"
            took = time.perf_counter() - scheduled
            with lock:
                run.latencies.append(took)
                if error is not None:
                    run.errors.append(error)
        conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(pool_size)]
    for t in threads:
        t.start()
    start = time.perf_counter() + 0.2
    schedule = sorted(
        ((k + j / learners) / per_learner, j)
        for j in range(learners)
        for k in range(int(seconds * per_learner) + 1)
    )[:total]
    for offset, learner in schedule:
        at = start + offset
        wait = at - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        run.max_send_lag_s = max(run.max_send_lag_s, time.perf_counter() - at)
        due.put((at, learner))
        run.sent += 1
    for _ in threads:
        due.put(None)
    # Every request is waited for (the connection's timeout bounds it), so the next
    # phase starts on a server that has finished this one's backlog.
    for t in threads:
        t.join()
    return run


def describe(label: str, rate: float, run: Run) -> str:
    return (
        f"{label} at {rate:.0f}/s: p50 {run.p(0.5):.1f} ms, p99 {run.p(0.99):.1f} ms, "
        f"{len(run.errors)} errors of {run.sent}, send lag max "
        f"{run.max_send_lag_s * 1000:.1f} ms, load {run.load_end or load_1min():.2f}"
    )


def step_search(
    probe: Callable[[float], Run],
    start_rate: float,
    *,
    target_ms: float,
    steps: int,
) -> float | None:
    """The highest probed rate whose p99 stays under ``target_ms`` with no errors.

    Grows by half again from ``start_rate`` (or halves, if that already fails) until
    the verdict flips, then bisects between the last rate that held and the first
    that did not, ``steps`` probes in all. None if no probed rate held.
    """
    best: float | None = None
    worst: float | None = None
    rate = start_rate
    for _ in range(steps):
        run = probe(rate)
        held = not run.errors and run.p(0.99) < target_ms
        log(describe("search " + ("held" if held else "missed"), rate, run))
        if held:
            best = rate
        else:
            worst = rate
        if best is not None and worst is not None:
            rate = (best + worst) / 2
        elif best is not None:
            rate = best * 1.5
        else:
            rate = rate / 2
        rate = round(rate)
        if rate in (best, worst) or rate < 1:
            break
    return best
