"""xAPI: the evidence writer thread: commits prepared pages on its own connections."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Connection, Engine

from xapi.evidence_store import (
    EvidenceBatch,
    EvidenceRow,
    copy_text,
    insert_evidence_rows,
    write_batch,
)


class EvidenceWriter:
    """Commits prepared pages in order on its own database connections, in threads.

    The sync prepares page n+1 (Python) while page n is written (database server):
    on Postgres the foreign-key checks and index updates of the evidence rows cost
    as much as the Python work, and they now overlap. A page's rows are split into
    ``parallel`` parts inserted at once by as many connections (server processes);
    its voidings follow once every part has committed, so they always see the
    rows they void. ``finished()`` hands back the pages whose writes committed, so
    the caller moves its cursor only past evidence that is safely stored.
    """

    def __init__(
        self, engine: Engine, tenant_id: int, *, depth: int = 2, parallel: int = 2
    ) -> None:
        self._engine = engine
        self._tenant_id = tenant_id
        self.parallel = max(1, parallel)
        self._jobs: queue.Queue[tuple[int, EvidenceBatch] | None] = queue.Queue(
            maxsize=depth
        )
        self._done: queue.Queue[tuple[int, EvidenceBatch, Counter[str]]] = queue.Queue()
        self._abort = threading.Event()
        self._error: BaseException | None = None
        self.submitted = 0
        self.committed = 0
        self._thread = threading.Thread(
            target=self._run, name="evidence-writer", daemon=True
        )
        self._thread.start()

    def prepare(self, batch: EvidenceBatch) -> None:
        """Split and format the batch's rows (in the caller's thread)."""
        size = -(-len(batch.rows) // self.parallel) or 1
        batch.parts = [
            (part, copy_text(part))
            for part in (
                batch.rows[i : i + size] for i in range(0, len(batch.rows), size)
            )
        ]

    @staticmethod
    def _insert_part(
        connection: Connection, part: tuple[list[EvidenceRow], bytes]
    ) -> int:
        with connection.begin():
            return insert_evidence_rows(connection, part[0], part[1])

    def _run(self) -> None:
        try:
            with contextlib.ExitStack() as stack:
                connections = [
                    stack.enter_context(self._engine.connect())
                    for _ in range(self.parallel)
                ]
                pool = stack.enter_context(
                    ThreadPoolExecutor(max_workers=self.parallel)
                )
                while True:
                    job = self._jobs.get()
                    if job is None or self._abort.is_set():
                        return
                    seq, batch = job
                    futures = [
                        pool.submit(self._insert_part, connections[index], part)
                        for index, part in enumerate(batch.parts)
                    ]
                    counters: Counter[str] = Counter()
                    counters["evidence"] += sum(f.result() for f in futures)
                    rest = EvidenceBatch(voids=batch.voids, quarantine=batch.quarantine)
                    with connections[0].begin():
                        counters.update(
                            write_batch(connections[0], self._tenant_id, rest)
                        )
                    self._done.put((seq, batch, counters))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the sync
            self._error = exc

    def _check(self) -> None:
        if self._error is not None:
            raise self._error
        if not self._thread.is_alive() and not self._abort.is_set():
            raise RuntimeError("the evidence writer stopped")

    def submit(self, batch: EvidenceBatch) -> int:
        """Queue a page's writes (waits while ``depth`` pages are queued)."""
        self.submitted += 1
        while True:
            self._check()
            try:
                self._jobs.put((self.submitted, batch), timeout=0.05)
                return self.submitted
            except queue.Full:
                continue

    def finished(
        self, *, wait: bool = False
    ) -> list[tuple[int, EvidenceBatch, Counter[str]]]:
        """Pages committed since the last call (all submitted ones when ``wait``)."""
        out: list[tuple[int, EvidenceBatch, Counter[str]]] = []
        while True:
            try:
                out.append(self._done.get(timeout=0.05 if wait else 0))
                self.committed = out[-1][0]
            except queue.Empty:
                self._check()
                if not wait or self.committed >= self.submitted:
                    return out

    def close(self, *, abort: bool = False) -> None:
        """Stop the thread: after the queued pages, or at once (``abort``)."""
        if abort:
            self._abort.set()
        while self._thread.is_alive():
            try:
                self._jobs.put(None, timeout=0.05)
                break
            except queue.Full:
                if abort:
                    self._drain_jobs()
        self._thread.join(timeout=60 if not abort else 5)

    def _drain_jobs(self) -> None:
        while True:
            try:
                self._jobs.get_nowait()
            except queue.Empty:
                return
