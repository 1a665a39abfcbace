"""xAPI: the full incremental sync of one connection (cursor, overlap window, lease)."""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from lti_tool.infra.db import utcnow
from xapi.client import LrsClient
from xapi.connections import client_for
from xapi.evidence import EvidenceProcessor
from xapi.evidence_store import write_batch
from xapi.evidence_writer import EvidenceWriter
from xapi.lrs_errors import LrsAnswerTooLarge, LrsError, LrsUnavailable
from xapi.models import (
    RUN_FAILED,
    RUN_OK,
    RUN_PARTIAL,
    RUN_RUNNING,
    LrsConnection,
    SyncCursor,
    SyncRun,
)
from xapi.paging import SeenWindow, prefetch
from xapi.statement_query import StatementQuery
from xapi.sync_cursor import acquire_lease, add_totals, save_cursor
from xapi.sync_pages import (
    RECENT_PAGES,
    chain_pages,
    fresh_count,
    not_before,
    repeated_page,
    until_too_large,
)
from xapi.transaction import Checkpoint, no_checkpoint

log = logging.getLogger(__name__)


MAX_RETRY_LIMIT = 50_000
UNMATCHED_FLUSH_S = 5.0
REPEATED_PAGE = (
    "the LRS returned the same page again ({detail}); stopped so the sync does not "
    "loop. What was read before is kept."
)


@dataclass
class SyncLimits:
    """Bounds of one run, from settings (``PATHWISE_LRS_SYNC_MAX_PAGES``)."""

    max_pages: int = 10_000


limits = SyncLimits()


def configure_sync_limits(*, max_pages: int) -> None:
    """Set the process-wide bounds (the composition root calls this at start-up)."""
    limits.max_pages = max_pages


@dataclass
class SyncReport:
    """Counters of one sync run (also stored on the SyncRun row)."""

    counters: Counter[str] = field(default_factory=Counter)
    complete: bool = True
    error: str = ""
    run_id: int | None = None

    def as_dict(self) -> dict[str, int]:
        return dict(self.counters)


def writer_engine(session: Session, checkpoint: Checkpoint) -> Engine | None:
    """The engine for a concurrent evidence writer, when one is safe to use.

    Only when the caller commits at checkpoints (a job or the CLI: its session is
    bound to the engine, so another connection sees what it committed) and on
    Postgres; tests' rolled-back sessions and SQLite write inline.
    """
    if checkpoint is no_checkpoint:
        return None
    bind = session.get_bind()
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql":
        return bind
    return None


def sync_connection(
    session: Session,
    *,
    connection_id: int,
    client: LrsClient | None = None,
    checkpoint: Checkpoint = no_checkpoint,
    max_pages: int | None = None,
    progress: Callable[[SyncReport], None] | None = None,
    prefetch_depth: int = 2,
    concurrent_writes: bool | None = None,
) -> SyncReport:
    """Incremental sync of one connection: page on ``stored`` ascending from the cursor.

    The cursor moves to the newest ``stored`` read, capped at the LRS's
    Consistent-Through; the next run starts ``overlap_s`` earlier and skips ids it
    already saw. ``checkpoint`` runs after every page (the job commits there), so an
    outage loses no progress; the run then ends with ``complete=False``.

    The run is bounded: at most ``max_pages`` (default ``limits.max_pages``), and it
    stops with a reason when the LRS serves a ``more`` link it already gave or a page
    it already served in this run (a misbehaving LRS would otherwise loop forever).

    Three stages overlap: a thread fetches the next page, this thread judges the
    current one, and (when ``concurrent_writes`` is not False and the caller
    commits, on Postgres) an ``EvidenceWriter`` commits the previous one on its own
    connections. The cursor only ever moves past pages the writer has committed.
    """
    connection = session.get(LrsConnection, connection_id)
    if connection is None:
        raise ValueError(f"no LRS connection {connection_id}")
    report = SyncReport()
    if not (connection.active and connection.sync_enabled):
        report.error = "connection is inactive or sync is disabled"
        report.complete = False
        return report
    cursor = session.get(SyncCursor, connection_id)
    if cursor is None:
        cursor = SyncCursor(connection_id=connection_id, boundary_ids=[], totals={})
        session.add(cursor)
        session.flush()
    owner = uuid.uuid4().hex
    if not acquire_lease(session, cursor, owner, utcnow()):
        report.error = "another sync of this connection is running"
        report.complete = False
        return report
    run = SyncRun(connection_id=connection_id, kind="full", status=RUN_RUNNING)
    session.add(run)
    session.flush()
    report.run_id = run.id
    checkpoint()

    own_client = client is None
    lrs = client or client_for(connection)
    overlap = dt.timedelta(seconds=connection.overlap_s)
    window = SeenWindow(cursor.boundary_ids or [])
    since = cursor.last_stored - overlap if cursor.last_stored else None
    processor = EvidenceProcessor(session, connection)
    engine = None if concurrent_writes is False else writer_engine(session, checkpoint)
    writer = EvidenceWriter(engine, connection.tenant_id) if engine else None
    # Cursor positions reached after each page handed to the writer, by page number.
    positions: dict[int, dt.datetime | None] = {}
    consistent_through: dt.datetime | None = None
    position = cursor.last_stored
    committed_position = position
    pages = 0
    page_cap = limits.max_pages if max_pages is None else max_pages
    unmatched_due = time.monotonic() + UNMATCHED_FLUSH_S

    def settle(*, wait: bool = False) -> None:
        """Take in pages the writer committed; move the saved cursor to them."""
        nonlocal committed_position
        if writer is None:
            return
        for seq, batch, counters in writer.finished(wait=wait):
            report.counters.update(counters)
            processor.absorb(batch)
            committed_position = positions.pop(seq)

    try:
        if connection.xapi_version_override is not None:
            lrs.version = connection.xapi_version_override
        elif connection.xapi_version is None:
            connection.xapi_version = lrs.negotiate_version()
        # Follow `more` to its end; then ask again from where we are. Some LRSs end
        # `more` early (xapi-statements 5 compares v1-UUID cursors as strings, which
        # wrap every ~7 minutes), so a run ends only when a fresh query brings
        # nothing new.
        stop = False
        # The page size of this run: halved (for the rest of the run) when a page
        # does not fit the answer cap.
        page_size = connection.page_size
        limit = page_size
        halved = False
        # Set when the LRS fails every `since` query (a 5xx): the run then pages
        # from the start with `more` and drops what is older than `since` itself.
        since_broken = False
        while not stop:
            query = StatementQuery(
                since=None if since_broken else since, limit=limit, ascending=True
            )
            fresh_before = fresh_count(report.counters)
            first_page_full: bool | None = None
            # One chain of `more` links: a link or a page coming twice in it is a
            # loop. (A fresh query may re-read pages: the overlap does that.)
            more_links: set[str] = set()
            recent_pages: deque[str] = deque(maxlen=RECENT_PAGES)
            too_large: list[LrsAnswerTooLarge] = []
            pages_in_chain = until_too_large(
                prefetch(lrs.iter_pages(query), depth=prefetch_depth), too_large
            )
            try:
                first = next(pages_in_chain, None)
            except LrsUnavailable as exc:
                # Only a server error is the filter failing (not 429, not silence).
                if query.since is None or exc.status is None or exc.status < 500:
                    raise
                since_broken = True
                report.counters["since_fallback"] += 1
                log.warning(
                    "LRS %s fails `since` queries (%s): paging from the start",
                    connection_id,
                    exc,
                )
                continue
            chain = [] if first is None else [first]
            for page in chain_pages(chain, pages_in_chain):
                via_more = first_page_full is not None
                if first_page_full is None:
                    first_page_full = len(page.statements) >= limit
                repeated = repeated_page(page.statements, via_more, recent_pages)
                if repeated:
                    # Its statements were handled when it first came: reading it
                    # again would only quarantine its malformed ones twice.
                    _stop_repeated(report, connection_id, repeated)
                    stop = True
                    break
                pages += 1
                report.counters["pages"] += 1
                if consistent_through is None:
                    # Statements stored after this instant may still be arriving.
                    consistent_through = page.consistent_through or utcnow()
                window.page = writer.submitted + 1 if writer else pages
                statements = page.statements
                if since_broken and since is not None:
                    statements = not_before(statements, since, report.counters)
                newest, batch = processor.prepare(statements, report.counters, window)
                if newest is not None:
                    capped = min(newest, consistent_through)
                    if position is None or capped > position:
                        position = capped
                if writer is None:
                    report.counters.update(
                        write_batch(session, connection.tenant_id, batch)
                    )
                    processor.absorb(batch)
                    committed_position = position
                else:
                    writer.prepare(batch)
                    positions[writer.submit(batch)] = position
                    settle()
                save_cursor(
                    session,
                    cursor,
                    run,
                    report.counters,
                    committed_position,
                    window,
                    overlap,
                    owner,
                    writer.committed if writer else None,
                )
                if time.monotonic() >= unmatched_due:
                    # Unknown actors are few and only counted: record them every
                    # few seconds (and at the end), not with every page.
                    processor.flush_unmatched()
                    unmatched_due = time.monotonic() + UNMATCHED_FLUSH_S
                checkpoint()
                if progress is not None:
                    progress(report)
                if page.more is not None and page.more in more_links:
                    _stop_repeated(report, connection_id, "a more link came twice")
                    stop = True
                    break
                if page.more is not None:
                    more_links.add(page.more)
                if pages >= page_cap:
                    report.complete = False
                    if max_pages is None:
                        report.error = (
                            f"stopped after {page_cap} pages "
                            "(PATHWISE_LRS_SYNC_MAX_PAGES); the next run continues"
                        )
                    stop = True
                    break
            # Stop the prefetching thread now (a break leaves it waiting).
            pages_in_chain.close()
            if too_large and not stop:
                if limit <= 1:
                    raise too_large[0]
                # A page did not fit the answer cap: ask again from where we are,
                # for half as many (what was read before is kept).
                page_size = limit = max(1, limit // 2)
                # Bigger pages would not fit either: the "ask again with bigger
                # pages" step below is off for this run.
                halved = True
                report.counters["page_halved"] += 1
                log.warning(
                    "LRS %s: a page was larger than the answer cap; asking for %d",
                    connection_id,
                    limit,
                )
                if position is not None:
                    since = position - dt.timedelta(milliseconds=1)
                continue
            fresh = fresh_count(report.counters)
            if position is None or since_broken:
                # Without `since`, a query again would read the whole LRS again.
                stop = True
            elif fresh > fresh_before:
                since = position - dt.timedelta(milliseconds=1)
                limit = page_size
            elif first_page_full and limit < MAX_RETRY_LIMIT and not halved:
                # Nothing new, but a whole page of already-seen statements sharing
                # one `stored` may hide more behind it: ask again with bigger pages.
                limit = min(MAX_RETRY_LIMIT, limit * 4)
            else:
                stop = True
        settle(wait=True)
        run.status = RUN_OK if report.complete else RUN_PARTIAL
    except LrsError as exc:
        # What was read before the outage is kept: finish writing it first.
        settle(wait=True)
        report.complete = False
        report.error = str(exc)[:2000]
        run.status = RUN_FAILED
        log.warning("sync of LRS %s stopped: %s", connection_id, exc)
    except BaseException:
        if writer is not None:
            writer.close(abort=True)
        raise
    finally:
        if own_client:
            lrs.close()
    if writer is not None:
        writer.close()
    run.error = report.error
    run.finished_at = utcnow()
    cursor.last_error = report.error
    cursor.lease_owner = None
    cursor.lease_until = None
    save_cursor(
        session,
        cursor,
        run,
        report.counters,
        committed_position,
        window,
        overlap,
        owner,
        None,
    )
    processor.flush_unmatched()
    cursor.totals = add_totals(cursor.totals, report.counters)
    session.flush()
    checkpoint()
    return report


def _stop_repeated(report: SyncReport, connection_id: int, detail: str) -> None:
    report.complete = False
    report.error = REPEATED_PAGE.format(detail=detail)
    log.warning("sync of LRS %s stopped: %s", connection_id, report.error)
