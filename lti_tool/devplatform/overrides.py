"""Development LMS (pure): short claim names and DROP, so a test can bend any claim."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lti_tool.devplatform.vocabulary import (
    CLAIM_AGS,
    CLAIM_CONTEXT,
    CLAIM_CUSTOM,
    CLAIM_DEPLOYMENT_ID,
    CLAIM_DL_SETTINGS,
    CLAIM_LAUNCH_PRESENTATION,
    CLAIM_LIS,
    CLAIM_MESSAGE_TYPE,
    CLAIM_NRPS,
    CLAIM_RESOURCE_LINK,
    CLAIM_ROLES,
    CLAIM_TARGET_LINK_URI,
    CLAIM_TOOL_PLATFORM,
    CLAIM_VERSION,
)


class _Drop:
    """Marker for an override that removes a claim or header instead of setting it."""

    def __repr__(self) -> str:
        return "DROP"


DROP: Any = _Drop()

# Short names for claims, so tests can say ``roles=[...]`` instead of the claim URI.
SHORT_CLAIMS = {
    "message_type": CLAIM_MESSAGE_TYPE,
    "version": CLAIM_VERSION,
    "deployment_id": CLAIM_DEPLOYMENT_ID,
    "target_link_uri": CLAIM_TARGET_LINK_URI,
    "resource_link": CLAIM_RESOURCE_LINK,
    "roles": CLAIM_ROLES,
    "context": CLAIM_CONTEXT,
    "custom": CLAIM_CUSTOM,
    "tool_platform": CLAIM_TOOL_PLATFORM,
    "launch_presentation": CLAIM_LAUNCH_PRESENTATION,
    "lis": CLAIM_LIS,
    "ags": CLAIM_AGS,
    "nrps": CLAIM_NRPS,
    "deep_linking_settings": CLAIM_DL_SETTINGS,
}


def claim_overrides(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Short-named overrides (plus a ``claims`` mapping) as claim names to values.

    Lets a launch override any claim, ``nonce`` and ``message_type`` included.
    """
    resolved = {
        SHORT_CLAIMS.get(k, k): v for k, v in overrides.items() if k != "claims"
    }
    resolved.update(overrides.get("claims") or {})
    return resolved
