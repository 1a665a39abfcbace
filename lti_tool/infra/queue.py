"""Background job wiring: RQ on an explicit Redis connection, or inline in embedded mode."""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Callable
from typing import Any

from redis import Redis
from rq import Queue

log = logging.getLogger(__name__)

# Queue names (redash-style constants): launches must never wait behind a bulk sync.
QUEUE_DEFAULT = "default"
QUEUE_OUTBOX = "outbox"
QUEUE_SYNC = "sync"
QUEUE_MODELS = "models"
ALL_QUEUES = (QUEUE_DEFAULT, QUEUE_OUTBOX, QUEUE_SYNC, QUEUE_MODELS)


class JobQueue:
    """Enqueue jobs on Redis when configured; otherwise run them in-process."""

    def __init__(self) -> None:
        self.redis_url: str | None = None
        self._connection: Redis | None = None
        #: Seconds a coalesced kick waits before its run (0: at once), see below.
        self.gather_s = 0.0

    def configure(
        self, redis_url: str | None, *, gather_s: float | None = None
    ) -> None:
        if gather_s is not None:
            self.gather_s = gather_s
        if redis_url == self.redis_url and (
            redis_url is None or self._connection is not None
        ):
            return
        self.redis_url = redis_url
        self._connection = Redis.from_url(redis_url) if redis_url else None

    @property
    def connection(self) -> Redis | None:
        return self._connection

    def enqueue(
        self,
        func: Callable[..., Any],
        *args: Any,
        queue: str = QUEUE_DEFAULT,
        job_id: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """Run ``func(*args, **kwargs)`` in the background (or now, when embedded).

        Inline failures are logged, not raised: the caller's request must not fail
        because a follow-up job did; durable work (outboxes) is retried by its own job.
        """
        if self._connection is None:
            try:
                return func(*args, **kwargs)
            except Exception:
                log.exception("inline job %s failed", getattr(func, "__name__", func))
                return None
        rq_queue = Queue(queue, connection=self._connection)
        return rq_queue.enqueue(func, *args, job_id=job_id, **kwargs)

    def enqueue_coalesced(
        self,
        func: Callable[..., Any],
        *args: Any,
        queue: str = QUEUE_DEFAULT,
        gate: str,
        gate_ttl_s: int = 30,
    ) -> Any:
        """Enqueue ``func`` unless a run is already queued under ``gate``.

        For "work is waiting" kicks sent by every request (the outbox): a burst of
        launches queues one job, not hundreds. The job calls ``open_gate(gate)``
        before it looks for work, so anything committed after that gets a new run;
        the TTL bounds how long a lost job can hold the gate.

        With ``gather_s`` set, the run is scheduled that many seconds ahead (RQ's
        scheduler, which ``pathwise worker`` runs): the gate stays shut meanwhile,
        so one run takes what every request of that window committed, and a run's
        fixed cost (the job, the signing key, the claim) is paid once per window,
        not once per answer.
        """
        if self._connection is None:
            return self.enqueue(func, *args, queue=queue)
        ttl = gate_ttl_s + math.ceil(self.gather_s)  # the gate outlives the wait
        if not self._connection.set(_GATE_PREFIX + gate, 1, nx=True, ex=ttl):
            return None
        if self.gather_s > 0:
            rq_queue = Queue(queue, connection=self._connection)
            return rq_queue.enqueue_in(dt.timedelta(seconds=self.gather_s), func, *args)
        return self.enqueue(func, *args, queue=queue)

    def open_gate(self, gate: str) -> None:
        if self._connection is not None:
            self._connection.delete(_GATE_PREFIX + gate)


_GATE_PREFIX = "pathwise:job-gate:"

job_queue = JobQueue()


def enqueue(
    func: Callable[..., Any], *args: Any, queue: str = QUEUE_DEFAULT, **kwargs: Any
) -> Any:
    """Module-level shortcut used by services and views."""
    return job_queue.enqueue(func, *args, queue=queue, **kwargs)
