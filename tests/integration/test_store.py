"""The shared launch-state store: single-use pops and markers on the DB and on Redis."""

from __future__ import annotations

import threading

import pytest
from redis import Redis
from sqlalchemy import Engine

from lti_tool.infra.store import DatabaseStore, ExpiringStore, RedisStore


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
    from lti_tool.infra.db import session_scope

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


def test_counters_count_in_a_fixed_window(store: ExpiringStore) -> None:
    assert [store.increment("fails:x", 1) for _ in range(3)] == [1, 2, 3]
    assert store.get("fails:x") == 3
    assert store.increment("fails:y", 60) == 1
    import time

    time.sleep(1.6)
    # The window started at the first count and was not extended: a fresh counter.
    assert store.increment("fails:x", 60) == 1
    assert store.increment("fails:y", 60) == 2


def test_unknown_kids_refetch_the_platform_key_set_once_per_cooldown(
    store: ExpiringStore,
) -> None:
    """Tokens with made-up kids must not make us fetch the LMS's JWKS every time."""
    from flask import Flask

    from lti_tool.lti.platform_keys import platform_key_set
    from tests.support_http import serve_in_thread

    fetches: list[int] = []
    keys = {"keys": [{"kid": "k1", "kty": "RSA", "n": "x", "e": "AQAB"}]}
    lms = Flask("jwks")

    @lms.get("/jwks")
    def jwks() -> dict[str, object]:
        fetches.append(1)
        return keys

    with serve_in_thread(lms) as url:
        assert (
            platform_key_set(store, url + "/jwks", kid="k1")["keys"][0]["kid"] == "k1"
        )
        assert len(fetches) == 1
        # Known kid: from the cache.
        platform_key_set(store, url + "/jwks", kid="k1")
        assert len(fetches) == 1
        # The LMS rotates: the first unknown kid refetches and finds it at once.
        keys["keys"].append({"kid": "k2", "kty": "RSA", "n": "y", "e": "AQAB"})
        found = platform_key_set(store, url + "/jwks", kid="k2")
        assert {k["kid"] for k in found["keys"]} == {"k1", "k2"}
        assert len(fetches) == 2
        # A flood of made-up kids within the cooldown: no more fetches.
        for i in range(20):
            platform_key_set(store, url + "/jwks", kid=f"forged-{i}")
        assert len(fetches) == 2


def test_durable_store_writes_survive_the_callers_rollback(engine: Engine) -> None:
    """Embedded mode: what a rejected launch learned about the LMS's keys must stay."""
    from lti_tool.infra.db import db
    from lti_tool.infra.store import CommittingDatabaseStore
    from tests.support_env import truncate_all

    request_session = db.session()
    try:
        # As in a launch: the request reads, the key store writes, then the request
        # writes and is rolled back (SQLite has one writer: the key store goes first).
        assert DatabaseStore(request_session).get("state:x") is None
        durable = CommittingDatabaseStore(db.session)
        assert durable.add_if_absent("jwks-refetch:u", 1, 60)
        durable.put("jwks:u", {"keys": []}, 60)
        DatabaseStore(request_session).put("state:lost", 1, 60)
        request_session.rollback()
    finally:
        request_session.close()
    try:
        fresh = CommittingDatabaseStore(db.session)
        assert fresh.get("jwks:u") == {"keys": []}
        assert not fresh.add_if_absent("jwks-refetch:u", 1, 60)
        assert fresh.get("state:lost") is None
        assert fresh.pop("jwks:u") == {"keys": []}
        assert fresh.get("jwks:u") is None
    finally:
        truncate_all(engine)
