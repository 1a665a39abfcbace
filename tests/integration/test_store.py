"""The shared launch-state store: single-use pops and markers on the DB and on Redis."""

from __future__ import annotations

import threading

import pytest
from redis import Redis
from sqlalchemy import Engine

from lti_tool.store import DatabaseStore, ExpiringStore, RedisStore


@pytest.fixture(params=["database", "redis"])
def store(request: pytest.FixtureRequest, engine: Engine) -> ExpiringStore:
    if request.param == "database":
        return DatabaseStore()
    url = request.getfixturevalue("redis_url")
    return RedisStore(Redis.from_url(url))


def test_pop_returns_the_value_once(store: ExpiringStore) -> None:
    store.put("state:a", {"nonce": "n"}, 60)
    assert store.get("state:a") == {"nonce": "n"}
    assert store.pop("state:a") == {"nonce": "n"}
    assert store.pop("state:a") is None


def test_single_use_marker_under_concurrency(store: ExpiringStore) -> None:
    winners: list[bool] = []

    def claim() -> None:
        winners.append(store.add_if_absent("nonce:x", 1, 60))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert winners.count(True) == 1


def test_expired_values_are_invisible(store: ExpiringStore) -> None:
    store.put("k", 1, 1)
    import time

    time.sleep(1.2)
    assert store.get("k") is None
    assert store.add_if_absent("k", 2, 60)
