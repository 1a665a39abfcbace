"""Short-lived shared state (OIDC state, nonces, launch data): Redis, or the database when embedded.

Never process memory: a login may be served by one web process and its launch by another.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from redis import Redis
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lti_tool.infra.db import utcnow
from lti_tool.infra.models import ExpiringValue

KEY_PREFIX = "pathwise:"


class ExpiringStore(Protocol):
    def put(self, key: str, value: Any, ttl_s: int) -> None: ...

    def get(self, key: str) -> Any | None: ...

    def pop(self, key: str) -> Any | None:
        """Return and delete atomically: exactly one caller gets the value."""

    def add_if_absent(self, key: str, value: Any, ttl_s: int) -> bool:
        """Store only if no live value exists; True when stored (single-use markers)."""

    def increment(self, key: str, ttl_s: int) -> int:
        """Add one to a counter and return it; a new counter lives ``ttl_s`` seconds.

        The expiry is set when the counter starts and never extended, so a counter
        counts events in a fixed window (sign-in throttling).
        """


class RedisStore:
    def __init__(self, connection: Redis) -> None:
        self._redis = connection

    def put(self, key: str, value: Any, ttl_s: int) -> None:
        self._redis.set(KEY_PREFIX + key, json.dumps(value), ex=ttl_s)

    def get(self, key: str) -> Any | None:
        raw = self._redis.get(KEY_PREFIX + key)
        return None if raw is None else json.loads(raw)

    def pop(self, key: str) -> Any | None:
        raw = self._redis.getdel(KEY_PREFIX + key)
        return None if raw is None else json.loads(raw)

    def add_if_absent(self, key: str, value: Any, ttl_s: int) -> bool:
        return bool(
            self._redis.set(KEY_PREFIX + key, json.dumps(value), ex=ttl_s, nx=True)
        )

    def increment(self, key: str, ttl_s: int) -> int:
        pipeline = self._redis.pipeline()
        pipeline.incr(KEY_PREFIX + key)
        pipeline.expire(KEY_PREFIX + key, ttl_s, nx=True)
        count, _ = pipeline.execute()
        return int(count)


class DatabaseStore:
    """The embedded-mode store: rows in the caller's transaction, expired rows ignored.

    Writing through the caller's session (savepoints for single-use markers) keeps
    SQLite to one writer per request: a second connection would wait on the
    request's own write lock. Postgres sees the same semantics: a marker becomes
    visible when the request commits, and a concurrent duplicate fails on the key.
    """

    def __init__(self, session: Session) -> None:
        self._session = session

    def put(self, key: str, value: Any, ttl_s: int) -> None:
        expires = utcnow() + dt.timedelta(seconds=ttl_s)
        row = self._session.get(ExpiringValue, key)
        if row is None:
            self._session.add(
                ExpiringValue(key=key, value=json.dumps(value), expires_at=expires)
            )
        else:
            row.value, row.expires_at = json.dumps(value), expires
        self._session.flush()

    def get(self, key: str) -> Any | None:
        raw = self._session.scalar(
            select(ExpiringValue.value).where(
                ExpiringValue.key == key, ExpiringValue.expires_at > utcnow()
            )
        )
        return None if raw is None else json.loads(raw)

    def pop(self, key: str) -> Any | None:
        self._session.flush()
        raw = self._session.scalar(
            delete(ExpiringValue)
            .where(ExpiringValue.key == key, ExpiringValue.expires_at > utcnow())
            .returning(ExpiringValue.value),
            execution_options={"synchronize_session": False},
        )
        self._session.expire_all()
        return None if raw is None else json.loads(raw)

    def add_if_absent(self, key: str, value: Any, ttl_s: int) -> bool:
        now = utcnow()
        self._session.execute(
            delete(ExpiringValue).where(
                ExpiringValue.key == key, ExpiringValue.expires_at <= now
            ),
            execution_options={"synchronize_session": False},
        )
        try:
            with self._session.begin_nested():
                self._session.add(
                    ExpiringValue(
                        key=key,
                        value=json.dumps(value),
                        expires_at=now + dt.timedelta(seconds=ttl_s),
                    )
                )
        except IntegrityError:
            return False
        return True

    def increment(self, key: str, ttl_s: int) -> int:
        now = utcnow()
        row = self._session.get(ExpiringValue, key, with_for_update=True)
        if row is not None and row.expires_at > now:
            count = int(json.loads(row.value)) + 1
            row.value = json.dumps(count)
        else:
            count = 1
            self.put(key, count, ttl_s)
        self._session.flush()
        return count

    def sweep(self) -> int:
        result = self._session.execute(
            delete(ExpiringValue).where(ExpiringValue.expires_at <= utcnow()),
            execution_options={"synchronize_session": False},
        )
        return int(getattr(result, "rowcount", 0) or 0)


class CommittingDatabaseStore:
    """The embedded-mode store for values that must outlive the caller's transaction.

    Each call runs in its own short session and commits at once. A rejected launch
    rolls its request back; the platform keys it fetched and the refetch cooldown it
    set must stay, or every forged ``kid`` would make another fetch.
    """

    def __init__(self, session_factory: Callable[[], Session]) -> None:
        self._factory = session_factory

    @contextmanager
    def _unit(self) -> Iterator[DatabaseStore]:
        session = self._factory()
        try:
            yield DatabaseStore(session)
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def put(self, key: str, value: Any, ttl_s: int) -> None:
        with self._unit() as store:
            store.put(key, value, ttl_s)

    def get(self, key: str) -> Any | None:
        with self._unit() as store:
            return store.get(key)

    def pop(self, key: str) -> Any | None:
        with self._unit() as store:
            return store.pop(key)

    def add_if_absent(self, key: str, value: Any, ttl_s: int) -> bool:
        with self._unit() as store:
            return store.add_if_absent(key, value, ttl_s)

    def increment(self, key: str, ttl_s: int) -> int:
        with self._unit() as store:
            return store.increment(key, ttl_s)


def make_durable_store(
    connection: Redis | None, session_factory: Callable[[], Session]
) -> ExpiringStore:
    """Redis when configured; otherwise the database, committed call by call."""
    if connection is not None:
        return RedisStore(connection)
    return CommittingDatabaseStore(session_factory)


def make_store(connection: Redis | None, session: Session) -> ExpiringStore:
    """Redis when configured; otherwise the database, inside ``session``'s transaction."""
    return RedisStore(connection) if connection is not None else DatabaseStore(session)
