"""LTI protocol: claim names, message types and the LTI message rules of an id_token."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lti_tool.lti.errors import LaunchRejected

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
CLAIM_MESSAGE_TYPE = CLAIM + "message_type"
CLAIM_VERSION = CLAIM + "version"
CLAIM_DEPLOYMENT_ID = CLAIM + "deployment_id"
CLAIM_ROLES = CLAIM + "roles"
CLAIM_RESOURCE_LINK = CLAIM + "resource_link"
CLAIM_CONTEXT = CLAIM + "context"
CLAIM_CUSTOM = CLAIM + "custom"
CLAIM_TARGET_LINK_URI = CLAIM + "target_link_uri"
# LIS: person_sourcedid is the SIS/HR id some LMSs send (our external_id).
CLAIM_LIS = CLAIM + "lis"
CLAIM_AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
CLAIM_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
CLAIM_DEEP_LINKING = (
    "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
)

MESSAGE_RESOURCE_LINK = "LtiResourceLinkRequest"
MESSAGE_DEEP_LINKING = "LtiDeepLinkingRequest"
KNOWN_MESSAGE_TYPES = (MESSAGE_RESOURCE_LINK, MESSAGE_DEEP_LINKING)


def _require(body: Mapping[str, Any], claim: str, label: str) -> Any:
    value = body.get(claim)
    if value in (None, "", [], {}):
        raise LaunchRejected(
            "missing_claim", f"The launch is missing the required claim {label}."
        )
    return value


def validate_message_claims(body: Mapping[str, Any]) -> None:
    """The LTI message rules (version, type, subject, roles, resource link)."""
    message_type = body.get(CLAIM_MESSAGE_TYPE)
    version = body.get(CLAIM_VERSION)
    if message_type is None and version is None:
        raise LaunchRejected("not_lti", "The token is a JWT but not an LTI message.")
    if version != "1.3.0":
        raise LaunchRejected("bad_lti_version", f"Unsupported LTI version {version!r}.")
    if not message_type:
        raise LaunchRejected(
            "missing_claim", "The launch is missing the required claim message_type."
        )
    if message_type not in KNOWN_MESSAGE_TYPES:
        raise LaunchRejected(
            "unsupported_message", f"Unsupported message type {message_type}."
        )
    _require(body, "sub", "sub")
    if CLAIM_ROLES not in body or not isinstance(body[CLAIM_ROLES], list):
        raise LaunchRejected(
            "missing_claim", "The launch is missing the required claim roles."
        )
    if message_type == MESSAGE_RESOURCE_LINK:
        link = body.get(CLAIM_RESOURCE_LINK)
        if not isinstance(link, dict) or not link.get("id"):
            raise LaunchRejected(
                "missing_claim",
                "The launch is missing the required claim resource_link.id.",
            )
    if message_type == MESSAGE_DEEP_LINKING:
        settings = body.get(CLAIM_DEEP_LINKING)
        if not isinstance(settings, dict) or not settings.get("deep_link_return_url"):
            raise LaunchRejected(
                "missing_claim",
                "The launch is missing deep_linking_settings.deep_link_return_url.",
            )
