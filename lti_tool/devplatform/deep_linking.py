"""Development LMS (core): the Deep Linking return, verified; its items become links."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

import jwt

from lti_tool.devplatform.errors import DeepLinkError
from lti_tool.devplatform.model import DeepLinkReturn
from lti_tool.devplatform.services import is_number
from lti_tool.devplatform.state import PlatformState
from lti_tool.devplatform.vocabulary import (
    CLAIM_DEPLOYMENT_ID,
    CLAIM_DL_CONTENT_ITEMS,
    CLAIM_DL_DATA,
    CLAIM_DL_LOG,
    CLAIM_DL_MSG,
    CLAIM_MESSAGE_TYPE,
    CLAIM_VERSION,
    LTI_VERSION,
    MESSAGE_DEEP_LINKING_RESPONSE,
)


class DeepLinkReturns(PlatformState):
    """What the platform does with the tool's signed LtiDeepLinkingResponse."""

    def receive_deep_link_response(self, token: str) -> DeepLinkReturn:
        """Verify the tool's LtiDeepLinkingResponse and add its links to the course."""
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise DeepLinkError(
                "invalid_jwt", f"The response is not a JWT: {exc}."
            ) from None
        client_id = unverified.get("iss")
        tool = self.tools.get(client_id) if isinstance(client_id, str) else None
        if tool is None:
            raise DeepLinkError(
                "unknown_client", "The response's iss is not a known client_id."
            )
        claims = self._verify_tool_jwt(
            token,
            tool,
            audience=self.issuer,
            required=("iss", "aud", "exp", "iat", "nonce"),
            error=DeepLinkError,
            code="invalid_jwt",
        )
        if claims.get(CLAIM_MESSAGE_TYPE) != MESSAGE_DEEP_LINKING_RESPONSE:
            raise DeepLinkError(
                "wrong_message_type", "message_type must be LtiDeepLinkingResponse."
            )
        if claims.get(CLAIM_VERSION) != LTI_VERSION:
            raise DeepLinkError("wrong_version", "version must be 1.3.0.")
        if claims.get(CLAIM_DEPLOYMENT_ID) != tool.deployment_id:
            raise DeepLinkError(
                "wrong_deployment",
                "deployment_id does not match this tool's deployment.",
            )
        nonce = str(claims["nonce"])
        data = claims.get(CLAIM_DL_DATA)
        items = claims.get(CLAIM_DL_CONTENT_ITEMS, [])
        if not isinstance(items, list) or not all(
            isinstance(i, dict) and isinstance(i.get("type"), str) for i in items
        ):
            raise DeepLinkError(
                "invalid_items", "content_items must be a list of typed objects."
            )
        now = self.clock()
        with self._lock:
            if nonce in self._used_dl_nonces:
                raise DeepLinkError(
                    "replayed_nonce", "The response's nonce was already used."
                )
            if data is None or self._dl_data.get(str(data)) != tool.client_id:
                raise DeepLinkError(
                    "bad_data", "The data claim does not echo the request's data."
                )
            self._used_dl_nonces[nonce] = now
            del self._dl_data[str(data)]
        created = [
            self._link_from_item(item)
            for item in items
            if item["type"] == "ltiResourceLink"
        ]
        received = DeepLinkReturn(
            client_id=tool.client_id,
            deployment_id=tool.deployment_id,
            content_items=[dict(i) for i in items],
            msg=claims.get(CLAIM_DL_MSG),
            log=claims.get(CLAIM_DL_LOG),
            received_at=now,
            created_links=created,
        )
        with self._lock:
            self.deep_link_returns.append(received)
        return received

    def _link_from_item(self, item: Mapping[str, Any]) -> str:
        """Create the course link a resource-link item describes (auto_create)."""
        course = next(iter(self.courses.values()))
        link_id = "dl-link-" + secrets.token_hex(6)
        custom = item.get("custom")
        lineitem = item.get("lineItem")
        maximum = lineitem.get("scoreMaximum") if isinstance(lineitem, dict) else None
        link = self.add_link(
            course.id,
            link_id,
            str(item.get("title") or "Pathwise activity"),
            custom={str(k): str(v) for k, v in custom.items()}
            if isinstance(custom, dict)
            else None,
            with_lineitem=isinstance(lineitem, dict),
            score_maximum=float(maximum)
            if is_number(maximum) and maximum > 0
            else 100.0,
        )
        link.url = item.get("url") if isinstance(item.get("url"), str) else None
        if isinstance(lineitem, dict) and link.lineitem_id is not None:
            stored = self.lineitems[link.lineitem_id]
            stored.tag = (
                lineitem.get("tag") if isinstance(lineitem.get("tag"), str) else None
            )
            stored.resource_id = (
                lineitem.get("resourceId")
                if isinstance(lineitem.get("resourceId"), str)
                else None
            )
            if isinstance(lineitem.get("label"), str):
                stored.label = lineitem["label"]
        return link_id
