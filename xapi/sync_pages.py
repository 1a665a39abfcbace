"""xAPI sync: what the run loop needs to judge one chain of ``more`` pages.

A page too large to read, a page served twice, statements older than ``since``
when the LRS cannot filter: kept apart from ``sync_connection`` so the loop reads
as the sequence of steps it is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter, deque
from collections.abc import Generator, Iterator, Sequence
from typing import Any

from xapi.core.formats import parse_timestamp
from xapi.lrs_errors import LrsAnswerTooLarge
from xapi.statement_query import Page

# Pages remembered for the "same page again" check (an LRS cycling through more
# pages than this is still stopped by the page cap).
RECENT_PAGES = 32


def page_fingerprint(statements: Sequence[Any]) -> str:
    """What identifies a page's content: its statement ids (or the whole statement
    when it has none, as a malformed one may not)."""
    digest = hashlib.sha256()
    for raw in statements:
        key = raw.get("id") if isinstance(raw, dict) else None
        if not isinstance(key, str):
            key = json.dumps(raw, sort_keys=True, default=str)
        digest.update(key.encode("utf-8", "replace") + b"\n")
    return digest.hexdigest()


def until_too_large(
    pages: Iterator[Page], too_large: list[LrsAnswerTooLarge]
) -> Generator[Page, None, None]:
    """The pages of a chain, ending it (into ``too_large``) at a page too large
    to read, so the caller can ask again with a smaller limit."""
    try:
        yield from pages
    except LrsAnswerTooLarge as exc:
        too_large.append(exc)
    finally:
        close = getattr(pages, "close", None)
        if close is not None:
            close()


def chain_pages(first: list[Page], rest: Iterator[Page]) -> Iterator[Page]:
    """The first page (already taken, to see whether the query works), then the rest."""
    yield from first
    yield from rest


def not_before(
    statements: list[Any], since: dt.datetime, counters: Counter[str]
) -> list[Any]:
    """Drop statements stored before ``since``: an earlier run read them (only when
    the LRS cannot filter by ``since`` itself). They count as ``reread``."""
    kept = []
    for raw in statements:
        stored = parse_timestamp(raw.get("stored")) if isinstance(raw, dict) else None
        if stored is not None and stored < since:
            counters["reread"] += 1
        else:
            kept.append(raw)
    return kept


def fresh_count(counters: Counter[str]) -> int:
    """Statements read that were new: a malformed one is no progress (an LRS that
    keeps serving one would otherwise make every fresh query look fruitful), and a
    re-read one is not in ``fetched`` at all."""
    return counters["fetched"] - counters["duplicates"] - counters["malformed"]


def repeated_page(statements: Sequence[Any], via_more: bool, recent: deque[str]) -> str:
    """Why this page is one the LRS already served in this run ('' when it is not).

    Only pages reached by ``more`` in the current chain count: the first page of
    a fresh query may legitimately repeat an earlier one (the overlap re-reads).
    Empty pages never count: an LRS may page past them.
    """
    if not statements:
        return ""
    fingerprint = page_fingerprint(statements)
    if via_more and fingerprint in recent:
        return "a page it had already served"
    recent.append(fingerprint)
    return ""
