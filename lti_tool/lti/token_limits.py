"""LTI protocol: the bounds an id_token must keep before it is parsed, verified or stored.

An anonymous POST reaches the JSON decoder before the signature is checked, so the
decoder must not be the thing that fails: a 50,000-deep array would raise
RecursionError (a 500). And a signed token is still only as small as the platform
makes it: what a launch stores (custom parameters, service endpoints, ids) is
bounded here so one launch cannot put a megabyte into every ``launches`` row.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any

from lti_tool.lti.claims import (
    CLAIM_AGS,
    CLAIM_CONTEXT,
    CLAIM_CUSTOM,
    CLAIM_DEEP_LINKING,
    CLAIM_DEPLOYMENT_ID,
    CLAIM_NRPS,
    CLAIM_RESOURCE_LINK,
    CLAIM_ROLES,
)
from lti_tool.lti.errors import LaunchRejected

# LTI claims nest three or four levels; 32 leaves room and is far from Python's limit.
MAX_JSON_DEPTH = 32
MAX_HEADER_CHARS = 4096
# Claims a launch stores, by their size as JSON. Over the limit the launch is refused
# (claim_too_large) rather than truncated: a cut JSON object or URL would mean
# something else, and the platform's administrator can shorten the custom parameters.
STORED_CLAIM_LIMITS = {
    CLAIM_CUSTOM: 16 * 1024,
    CLAIM_AGS: 8 * 1024,
    CLAIM_NRPS: 8 * 1024,
    CLAIM_ROLES: 8 * 1024,
    CLAIM_DEEP_LINKING: 16 * 1024,
}
# Identifiers are keys of stored rows (255 characters in the schema); cutting one
# would merge two people or links, so an overlong one is refused too.
MAX_ID_CHARS = 255

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]")


def json_depth_exceeds(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when ``text`` nests arrays/objects deeper than ``limit`` (strings ignored)."""
    depth = 0
    for bracket in _NOT_BRACKET.sub("", _JSON_STRING.sub("", text)):
        if bracket in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def decode_segment(segment: str, *, max_chars: int | None = None) -> dict[str, Any]:
    """One base64url JSON segment of a JWT, decoded only if small and shallow enough.

    Raises:
        LaunchRejected: ``malformed_token`` when it is too long, too deep, or not a
            base64url-encoded JSON object.
    """
    if max_chars is not None and len(segment) > max_chars:
        raise LaunchRejected("malformed_token", "The id_token header is too large.")
    padded = segment + "=" * (-len(segment) % 4)
    try:
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
    except (ValueError, binascii.Error, UnicodeError):
        raise LaunchRejected(
            "malformed_token", "The id_token cannot be decoded."
        ) from None
    if json_depth_exceeds(text):
        raise LaunchRejected(
            "malformed_token",
            f"The id_token nests JSON deeper than {MAX_JSON_DEPTH} levels.",
        )
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise LaunchRejected(
            "malformed_token", "The id_token cannot be decoded."
        ) from None
    if not isinstance(value, dict):
        raise LaunchRejected("malformed_token", "The id_token cannot be decoded.")
    return value


def check_stored_claims(body: Mapping[str, Any]) -> None:
    """Refuse a launch whose stored claims or identifiers exceed their bounds.

    Names, titles and e-mail addresses are only shown, so ``record_launch`` cuts
    them to their columns instead.
    """
    for claim, limit in STORED_CLAIM_LIMITS.items():
        if claim not in body:
            continue
        size = len(json.dumps(body[claim], separators=(",", ":")))
        if size > limit:
            raise LaunchRejected(
                "claim_too_large",
                f"The claim {claim.rsplit('/', 1)[-1]} is {size} bytes; "
                f"Pathwise stores at most {limit}.",
            )
    identifiers = {
        "sub": body.get("sub"),
        "deployment_id": body.get(CLAIM_DEPLOYMENT_ID),
        "context.id": _field(body.get(CLAIM_CONTEXT), "id"),
        "resource_link.id": _field(body.get(CLAIM_RESOURCE_LINK), "id"),
    }
    for label, value in identifiers.items():
        if value is not None and len(str(value)) > MAX_ID_CHARS:
            raise LaunchRejected(
                "claim_too_large",
                f"The claim {label} is longer than {MAX_ID_CHARS} characters.",
            )


def _field(claim: Any, name: str) -> Any:
    return claim.get(name) if isinstance(claim, dict) else None
