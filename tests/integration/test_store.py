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
        return DatabaseStore(request.getfixturevalue("db_session"))
    url = request.getfixturevalue("redis_url")
    return RedisStore(Redis.from_url(url))


def test_pop_returns_the_value_once(store: ExpiringStore) -> None:
    store.put("state:a", {"nonce": "n"}, 60)
    assert store.get("state:a") == {"nonce": "n"}
    assert store.pop("state:a") == {"nonce": "n"}
    assert store.pop("state:a") is None


def test_single_use_marker(store: ExpiringStore) -> None:
    assert store.add_if_absent("nonce:x", 1, 60)
    assert not store.add_if_absent("nonce:x", 1, 60)


def test_concurrent_claims_of_one_marker_in_separate_transactions(
    engine: Engine,
) -> None:
    """Two web processes racing on one nonce: exactly one commits it."""
    from lti_tool.db import session_scope

    winners: list[bool] = []
    barrier = threading.Barrier(4)

    def claim() -> None:
        barrier.wait()
        try:
            with session_scope() as session:
                winners.append(
                    DatabaseStore(session).add_if_absent("nonce:race", 1, 60)
                )
        except Exception:  # noqa: BLE001 - a lost race may surface at commit
            winners.append(False)

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with session_scope() as session:
        DatabaseStore(session).pop("nonce:race")
    assert winners.count(True) == 1


def test_expired_values_are_invisible(store: ExpiringStore) -> None:
    store.put("k", 1, 1)
    import time

    time.sleep(1.6)
    assert store.get("k") is None
    assert store.add_if_absent("k", 2, 60)
