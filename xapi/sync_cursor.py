"""xAPI sync: the cursor row of a connection (its lease, position and totals).

What a run saves after every page, kept apart from the run loop in ``sync``.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from lti_tool.infra.db import utcnow
from xapi.models import SyncCursor, SyncRun
from xapi.paging import SeenWindow

# How long a run owns the cursor without saving it (each save extends it).
LEASE_S = 300.0


def acquire_lease(
    session: Session, cursor: SyncCursor, owner: str, now: dt.datetime
) -> bool:
    """Take the cursor unless another run holds an unexpired lease (one sync at a time)."""
    result = session.execute(
        update(SyncCursor)
        .where(
            SyncCursor.connection_id == cursor.connection_id,
            or_(
                SyncCursor.lease_until.is_(None),
                SyncCursor.lease_until < now,
                SyncCursor.lease_owner == owner,
            ),
        )
        .values(lease_owner=owner, lease_until=now + dt.timedelta(seconds=LEASE_S))
        .execution_options(synchronize_session=False)
    )
    session.refresh(cursor)
    return int(getattr(result, "rowcount", 0) or 0) == 1


def add_totals(
    totals: Mapping[str, int] | None, counters: Counter[str]
) -> dict[str, int]:
    """The connection's all-time counters with this run's added."""
    merged = Counter(dict(totals or {}))
    merged.update(counters)
    return dict(merged)


def save_cursor(
    session: Session,
    cursor: SyncCursor,
    run: SyncRun,
    counters: Counter[str],
    position: dt.datetime | None,
    window: SeenWindow,
    overlap: dt.timedelta,
    owner: str,
    through_page: int | None,
) -> None:
    """Save the position reached (and renew the lease), so an outage loses nothing."""
    if position is not None:
        cursor.last_stored = position
        cursor.boundary_ids = window.boundary(position, overlap, through_page)
    cursor.last_run_at = utcnow()
    if cursor.lease_owner == owner:
        cursor.lease_until = utcnow() + dt.timedelta(seconds=LEASE_S)
    run.counters = dict(counters)
    session.flush()
