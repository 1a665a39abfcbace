"""xAPI: reading an LRS's pages: a prefetching thread and the window of ids seen."""

from __future__ import annotations

import datetime as dt
import queue
import threading
from collections.abc import Generator, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


def prefetch(pages: Iterator[T], depth: int = 2) -> Generator[T, None, None]:
    """Fetch the next pages in a thread while the caller processes this one."""
    buffer: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for page in pages:
                while not stop.is_set():
                    try:
                        buffer.put(("page", page), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            buffer.put(("end", None))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the consumer
            buffer.put(("error", exc))

    thread = threading.Thread(target=produce, name="lrs-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = buffer.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        thread.join(timeout=5)


NEW = "new"
DUPLICATE = "duplicate"
REREAD = "reread"


class SeenWindow:
    """What a run has read, so each statement is judged and counted once per run.

    Two memories: the ids of the last run's overlap window (``boundary``: a
    statement there was judged by an earlier run, a *duplicate*) and every id this
    run read, never forgotten during the run (a statement served again, by an
    overlap re-read or an LRS whose ``more`` chain re-serves older pages, is a
    *reread*). Malformed statements without a usable id are remembered by their
    fingerprint. Each id also remembers the page it came in (``page``; -1 for the
    last run's boundary), so the boundary saved with a cursor holds only committed
    pages.
    """

    def __init__(self, boundary: Iterable[str]) -> None:
        self.ids: dict[str, tuple[dt.datetime | None, int]] = dict.fromkeys(
            boundary, (None, -1)
        )
        self.previous: set[str] = set(self.ids)
        self.run: set[str] = set()
        self.page = 0

    def classify(self, statement_id: str, stored: dt.datetime) -> str:
        """``NEW``, ``DUPLICATE`` (an earlier run judged it) or ``REREAD`` (this run
        already read it); records the id as read by this run."""
        if statement_id in self.run:
            return REREAD
        self.run.add(statement_id)
        known = self.ids.get(statement_id)
        if known is None or known[0] is None:
            self.ids[statement_id] = (stored, self.page if known is None else known[1])
        if statement_id in self.previous:
            return DUPLICATE
        return NEW

    def malformed_again(self, fingerprint: str) -> bool:
        """True when this run already quarantined this exact malformed statement."""
        key = "malformed:" + fingerprint
        if key in self.run:
            return True
        self.run.add(key)
        return False

    def boundary(
        self, cursor: dt.datetime, overlap: dt.timedelta, through_page: int | None
    ) -> list[str]:
        """Ids to remember for the next run: stored at or after cursor - overlap
        (and read in a page up to ``through_page``, when given)."""
        edge = cursor - overlap
        # Ids from the last run's boundary not read again yet stay for this run: an
        # LRS that cannot filter by ``since`` serves them later than the first page.
        keep = {i: v for i, v in self.ids.items() if v[0] is None or v[0] >= edge}
        self.ids = keep
        saved = {i: v for i, v in keep.items() if v[0] is not None}
        if through_page is None:
            return sorted(saved)
        return sorted(i for i, v in saved.items() if v[1] <= through_page)
