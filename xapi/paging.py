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


class SeenWindow:
    """Statement ids seen in the overlap window (and this run), for de-duplication.

    Each id remembers the page it came in (``page``; -1 for the last run's
    boundary), so the boundary saved with a cursor holds only committed pages.
    """

    def __init__(self, boundary: Iterable[str]) -> None:
        self.ids: dict[str, tuple[dt.datetime | None, int]] = dict.fromkeys(
            boundary, (None, -1)
        )
        self.page = 0

    def seen(self, statement_id: str, stored: dt.datetime) -> bool:
        known = self.ids.get(statement_id)
        if known is None:
            self.ids[statement_id] = (stored, self.page)
            return False
        if known[0] is None:
            self.ids[statement_id] = (stored, known[1])
        return True

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
