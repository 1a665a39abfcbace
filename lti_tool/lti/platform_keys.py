"""LTI protocol: the platform's public keys (JWKS), cached in the shared store."""

from __future__ import annotations

import hashlib
from typing import Any

import requests

from lti_tool.infra.outbound import describe_failure, outbound_session
from lti_tool.infra.store import ExpiringStore
from lti_tool.lti.errors import LaunchRejected

JWKS_CACHE_TTL_S = 300
JWKS_TIMEOUT_S = 5
JWKS_REFETCH_COOLDOWN_S = 10


def platform_key_set(
    store: ExpiringStore,
    key_set_url: str,
    *,
    kid: str,
    requests_session: requests.Session | None = None,
) -> dict[str, Any]:
    """The platform's JWKS, cached in the shared store; refetched when a kid is new.

    Fetching the key set on every launch would tie our throughput to the LMS's;
    refetching on an unknown kid picks up a platform's key rotation at once.
    ``store`` must keep its writes when the launch is rejected (see
    ``validate_launch``'s ``key_store``), or the cooldown would not hold.
    """
    url_hash = hashlib.sha256(key_set_url.encode()).hexdigest()
    cache_key = "jwks:" + url_hash
    cached = store.get(cache_key)
    if cached and any(k.get("kid") == kid for k in cached.get("keys", [])):
        return dict(cached)
    cooldown_key = "jwks-refetch:" + url_hash
    if cached and not store.add_if_absent(cooldown_key, 1, JWKS_REFETCH_COOLDOWN_S):
        # Tokens with made-up kids must not turn us into a fetch loop against the
        # LMS: one refetch per cooldown; a real rotation is seen at the first one.
        return dict(cached)
    # The guarded client: in production a key set URL on an internal address is
    # refused, and the LMS's answer is never quoted back.
    http = requests_session or outbound_session()
    try:
        response = http.get(key_set_url, timeout=JWKS_TIMEOUT_S)
        response.raise_for_status()
        key_set = response.json()
    except (requests.RequestException, ValueError) as exc:
        if cached:
            return dict(cached)
        raise LaunchRejected(
            "platform_keys_unavailable",
            "The LMS's public keys could not be fetched: "
            + describe_failure(key_set_url, exc),
            502,
        ) from None
    if not isinstance(key_set, dict) or not isinstance(key_set.get("keys"), list):
        raise LaunchRejected(
            "platform_keys_unavailable", f"{key_set_url} did not return a JWKS.", 502
        )
    store.put(cache_key, key_set, JWKS_CACHE_TTL_S)
    if not cached and not any(
        isinstance(k, dict) and k.get("kid") == kid for k in key_set["keys"]
    ):
        # A cold fetch for a kid the LMS does not have starts the cooldown too, so
        # a flood of made-up kids costs one fetch in all, not two.
        store.put(cooldown_key, 1, JWKS_REFETCH_COOLDOWN_S)
    return key_set
