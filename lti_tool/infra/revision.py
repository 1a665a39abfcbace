"""A database-wide revision stamp, and per-process caches that are exact because of it.

Every launch reads things an admin or author rarely changes: the platform
registration, the deployment (tenant), LRS connections, the catalogue, fitted
parameters. Querying each of them on every request cost most of a launch's time.
Instead, one row carries a value per kind (catalogue, configuration, paths), and
any change to a tracked table gives its kind a fresh random value *in the same
transaction* (ORM flushes and bulk DML alike).
A session reads the stamp once (one primary-key read), and a process-local cache
keyed by that stamp answers everything else. So another process's change is seen
at the next request, with no time-to-live and no shared memory.

Cached values are plain snapshots, never live ORM objects: ``cached_rows`` keeps
column values and hands each session its own attached copy (``merge`` with
``load=False``: no SQL).
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import String, event, insert, inspect, select, update
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    make_transient_to_detached,
    mapped_column,
)

from lti_tool.infra.db import Base

CATALOGUE = "catalogue"
CONFIG = "config"
PATHS = "paths"  # managers' say over learners' paths: role assignments, overrides
KINDS = (CATALOGUE, CONFIG, PATHS)
_STAMP_KEY = "pathwise.revision_stamp"
_NO_STAMP = object()

T = TypeVar("T")
R = TypeVar("R", bound=Base)


class Revision(Base):
    """The single row (id 1) whose values change on every catalogue or configuration change.

    Each change writes a fresh random value rather than counting up: a bump that
    was rolled back can never share its key with a later, different one, and a
    process's cache never answers for another database (tests create many).
    """

    __tablename__ = "revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    catalogue: Mapped[str] = mapped_column(String(36))
    config: Mapped[str] = mapped_column(String(36))
    paths: Mapped[str] = mapped_column(String(36))


@dataclass(frozen=True)
class Stamp:
    catalogue: str
    config: str
    paths: str

    def key(self, kind: str) -> str:
        value: str = getattr(self, kind)
        return value


_TRACKED: dict[type[Any], str] = {}
_TRACKED_TABLES: dict[str, str] = {}


def track(kind: str, *classes: type[Any]) -> None:
    """Changes to these mapped classes (and their tables) give ``kind`` a new value."""
    for cls in classes:
        _TRACKED[cls] = kind
        _TRACKED_TABLES[cls.__table__.name] = kind


_STAMP_QUERY = select(Revision.catalogue, Revision.config, Revision.paths).where(
    Revision.id == 1
)


def current_stamp(session: Session) -> Stamp | None:
    """The stamp as this session's transaction sees it (read once per transaction)."""
    cached = session.info.get(_STAMP_KEY)
    if cached is _NO_STAMP:
        return None
    if cached is not None:
        stamp: Stamp = cached
        return stamp
    row = session.execute(_STAMP_QUERY).first()
    if row is None:
        session.info[_STAMP_KEY] = _NO_STAMP
        return None
    stamp = Stamp(row.catalogue, row.config, row.paths)
    session.info[_STAMP_KEY] = stamp
    return stamp


def bump(session: Session, kinds: set[str]) -> None:
    """Give ``kinds`` fresh values; creates the row on a database that has none."""
    values = {kind: str(uuid.uuid4()) for kind in kinds if kind in KINDS}
    if not values:
        return
    result = session.execute(update(Revision).where(Revision.id == 1).values(**values))
    if not getattr(result, "rowcount", 0):
        session.execute(
            insert(Revision).values(id=1, **{k: str(uuid.uuid4()) for k in KINDS})
        )
    # A new value per bump: what this transaction caches under it is never seen by
    # anyone if it rolls back, and is exactly what commits if it does not.
    session.info.pop(_STAMP_KEY, None)


def _bump_on_flush(session: Session, _context: Any, _instances: Any) -> None:
    # ``dirty`` holds every object an attribute was set on, changed or not.
    changed = (
        *session.new,
        *session.deleted,
        *(obj for obj in session.dirty if session.is_modified(obj)),
    )
    kinds = {_TRACKED[type(obj)] for obj in changed if type(obj) in _TRACKED}
    if kinds:
        bump(session, kinds)


def _bump_on_bulk_dml(state: ORMExecuteState) -> None:
    """``session.execute(update(...))`` and friends bypass the flush: catch them here."""
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(state.statement, "table", None)
    kind = _TRACKED_TABLES.get(getattr(table, "name", ""))
    if kind is not None:
        bump(state.session, {kind})


def _forget_stamp(session: Session, *_args: Any) -> None:
    session.info.pop(_STAMP_KEY, None)


def _forget_stamp_on_commit(session: Session) -> None:
    # ``after_commit`` also fires when a savepoint is released; what the transaction
    # sees does not change then, so its stamp stays (a rolled-back one is forgotten).
    if not session.in_nested_transaction():
        _forget_stamp(session)


event.listen(Session, "before_flush", _bump_on_flush)
event.listen(Session, "do_orm_execute", _bump_on_bulk_dml)
event.listen(Session, "after_commit", _forget_stamp_on_commit)
event.listen(Session, "after_rollback", _forget_stamp)


class RevisionCache:
    """A bounded, thread-safe, per-process map from (stamp, key) to a value.

    With no stamp row yet (a database nothing was ever configured in), values are
    built every time: correct, merely uncached. A value built from more than one
    kind names them all (``kind`` and ``also``): a change to any of them misses.
    """

    def __init__(
        self, kind: str, size: int = 512, *, also: tuple[str, ...] = ()
    ) -> None:
        self.kind = kind
        self.kinds = (kind, *also)
        self.size = size
        self._values: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session: Session, key: Hashable, build: Callable[[], T]) -> T:
        if session.autoflush and (session.new or session.dirty or session.deleted):
            session.flush()  # as a query would: pending changes move the stamp first
        stamp = current_stamp(session)
        if stamp is None:
            return build()
        full = (tuple(stamp.key(k) for k in self.kinds), key)
        with self._lock:
            if full in self._values:
                self._values.move_to_end(full)
                value: T = self._values[full]
                return value
        value = build()
        with self._lock:
            self._values[full] = value
            while len(self._values) > self.size:
                self._values.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


@dataclass(frozen=True)
class _RowSnapshot:
    cls: type[Any]
    values: dict[str, Any]


def _snapshot(row: Any) -> _RowSnapshot:
    mapper = inspect(type(row))
    return _RowSnapshot(
        type(row), {attr.key: getattr(row, attr.key) for attr in mapper.column_attrs}
    )


def _attach(session: Session, snap: _RowSnapshot) -> Any:
    mapper = inspect(snap.cls)
    key = mapper.identity_key_from_primary_key(
        [snap.values[c.key] for c in mapper.primary_key]
    )
    present = session.identity_map.get(key)
    if present is not None:
        return present  # the session's own copy wins (it may hold pending changes)
    instance = mapper.class_manager.new_instance()
    for name, value in snap.values.items():
        setattr(
            instance,
            name,
            copy.deepcopy(value) if isinstance(value, dict | list) else value,
        )
    make_transient_to_detached(instance)
    return session.merge(instance, load=False)


def cached_rows(
    cache: RevisionCache,
    session: Session,
    key: Hashable,
    load: Callable[[], Sequence[R]],
) -> list[R]:
    """Rows of tracked tables, loaded once per stamp and attached to this session."""
    loaded: list[R] | None = None

    def build() -> tuple[_RowSnapshot, ...]:
        nonlocal loaded
        loaded = list(load())
        return tuple(_snapshot(r) for r in loaded)

    snaps = cache.get(session, key, build)
    if loaded is not None:
        return loaded
    return [_attach(session, s) for s in snaps]
