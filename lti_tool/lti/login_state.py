"""LTI protocol: the single-use OIDC login state and id_token nonces, in the shared store.

pylti1p3 keeps state in a server-side session and checks nonces through its session
service; an LMS frame often has no usable session cookie and several web processes
serve one launch, so Pathwise keeps both in the shared store and consumes each once.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from lti_tool.infra.store import ExpiringStore
from lti_tool.lti.errors import LaunchRejected

NONCE_TTL_S = 24 * 3600


def _state_key(state: str) -> str:
    return "state:" + state


def remember_login(
    store: ExpiringStore, state: str, record: dict[str, Any], *, ttl_s: int
) -> None:
    """Keep what a login initiation issued (nonce, registration, parameters) for its launch."""
    store.put(_state_key(state), record, ttl_s)


def pending_login(store: ExpiringStore, state: str) -> dict[str, Any] | None:
    """The login that issued ``state``, read without consuming it."""
    record: dict[str, Any] | None = store.get(_state_key(state))
    return record


def consume_nonce(store: ExpiringStore, *, issuer: str, nonce: Any) -> str:
    """Use the id_token's nonce once: a second launch with it is a replay.

    Keyed by issuer and nonce (hashed), kept for a day: longer than any id_token lives.
    """
    if not isinstance(nonce, str) or not nonce:
        raise LaunchRejected("bad_nonce", "The id_token has no nonce.")
    nonce_key = "nonce:" + hashlib.sha256(f"{issuer}|{nonce}".encode()).hexdigest()
    if not store.add_if_absent(nonce_key, 1, NONCE_TTL_S):
        raise LaunchRejected(
            "replayed_nonce", "This id_token's nonce was already used.", 401
        )
    return nonce


def consume_state(
    store: ExpiringStore,
    *,
    state: str,
    nonce: str,
    state_cookie: str | None,
    platform_storage_state: str | None,
) -> dict[str, Any]:
    """Use the login state once; it must have issued ``nonce`` to this very browser.

    The browser proves it started the login with the state cookie, or, in an LMS
    frame without cookies, with the state it read back from platform storage.
    """
    state_record: dict[str, Any] | None = store.pop(_state_key(state))
    if state_record is None:
        raise LaunchRejected("bad_state", "The state is unknown or was already used.")
    if not secrets.compare_digest(str(state_record.get("nonce", "")), nonce):
        raise LaunchRejected(
            "bad_nonce", "The nonce does not match the one this login issued."
        )
    bound = (
        state_cookie is not None and secrets.compare_digest(state_cookie, state)
    ) or (
        platform_storage_state is not None
        and state_record.get("storage_target")
        and secrets.compare_digest(platform_storage_state, state)
    )
    if not bound:
        raise LaunchRejected(
            "bad_state",
            "This browser did not start the login (no matching state cookie or platform "
            "storage): cookies may be blocked in the LMS frame.",
        )
    return state_record
