"""LTI protocol: the AGS calls (line items, scores) with cached service access tokens.

pylti1p3's ``ServiceConnector`` signs the client assertion and follows ``Link:
rel="next"``; this module gives it the guarded outbound session with a timeout,
a token cache in the shared store (per registration and scope set, until the
token expires) and one classification of what went wrong: worth retrying later
(409, 429, 5xx, timeouts, unreachable) or refused (any other answer).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from pylti1p3.exception import LtiServiceException
from pylti1p3.registration import Registration as LtiRegistration
from pylti1p3.service_connector import ServiceConnector

from lti_tool.infra.outbound import GuardedSession, OutboundRefused
from lti_tool.infra.store import ExpiringStore

SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_LINEITEM_READONLY = (
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
)
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
MEDIA_LINEITEM = "application/vnd.ims.lis.v2.lineitem+json"
MEDIA_LINEITEMS = "application/vnd.ims.lis.v2.lineitemcontainer+json"
MEDIA_SCORE = "application/vnd.ims.lis.v1.score+json"
# Tokens are dropped this long before the LMS says they expire (clock skew, transit).
TOKEN_EXPIRY_MARGIN_S = 60
RETRYABLE_STATUSES = frozenset({408, 409, 425, 429})
MAX_LINEITEM_PAGES = 200


class AgsError(Exception):
    """An AGS call that failed; ``status`` is the LMS's HTTP answer when there was one."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AgsUnavailable(AgsError):
    """Worth trying again later: 409, 429, 5xx, a timeout, the LMS unreachable."""

    def __init__(
        self, message: str, status: int | None = None, retry_after_s: float = 0.0
    ) -> None:
        super().__init__(message, status)
        self.retry_after_s = retry_after_s


class AgsRejected(AgsError):
    """The LMS refused the call for good (another 4xx); an instructor must look."""


@dataclass(frozen=True)
class LineItemRef:
    url: str
    score_maximum: float


@dataclass(frozen=True)
class ScoreBody:
    """One AGS score, as the LMS receives it."""

    user_id: str
    timestamp: dt.datetime
    score_given: float
    score_maximum: float
    activity_progress: str
    grading_progress: str
    comment: str

    def as_json(self) -> str:
        body: dict[str, Any] = {
            "userId": self.user_id,
            "timestamp": self.timestamp.isoformat(),
            "scoreGiven": round(self.score_given, 4),
            "scoreMaximum": self.score_maximum,
            "activityProgress": self.activity_progress,
            "gradingProgress": self.grading_progress,
        }
        if self.comment:
            body["comment"] = self.comment
        return json.dumps(body)


class _TimedSession(GuardedSession):
    """The guarded session with one timeout for every call (pylti1p3 passes none)."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self._timeout_s = timeout_s

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout_s)
        return super().request(*args, **kwargs)


def token_cache_key(registration_id: int, scopes: Iterable[str]) -> str:
    """The store key of an access token: one per registration and scope set."""
    digest = hashlib.sha256(" ".join(sorted(set(scopes))).encode()).hexdigest()[:24]
    return f"ags-token:{registration_id}:{digest}"


class CachedTokenConnector(ServiceConnector):
    """pylti1p3's connector with its access tokens kept in the shared store."""

    def __init__(
        self,
        registration: LtiRegistration,
        *,
        registration_id: int,
        store: ExpiringStore,
        timeout_s: float,
    ) -> None:
        super().__init__(registration, requests_session=_TimedSession(timeout_s))
        self._registration_id = registration_id
        self._store = store
        self._last_scopes: Sequence[str] = ()
        # Tokens read or fetched during this connector's run (one delivery batch).
        self._memo: dict[str, str] = {}

    def get_access_token(self, scopes: Sequence[str]) -> str:
        self._last_scopes = scopes
        return super().get_access_token(scopes)

    def _get_cached_access_token(self, scope_key: str) -> str | None:
        key = token_cache_key(self._registration_id, self._last_scopes)
        if key in self._memo:  # this run already read it: no store round trip per call
            return self._memo[key]
        value = self._store.get(key)
        if isinstance(value, str):
            self._memo[key] = value
            return value
        return None

    def _cache_access_token(
        self, scope_key: str, access_token: str, expires_in: float
    ) -> None:
        ttl = int(float(expires_in or 0)) - TOKEN_EXPIRY_MARGIN_S
        key = token_cache_key(self._registration_id, self._last_scopes)
        self._memo[key] = access_token
        if ttl > 0:
            self._store.put(key, access_token, ttl)

    def forget_token(self, scopes: Sequence[str]) -> None:
        """Drop a cached token the LMS no longer accepts (401)."""
        key = token_cache_key(self._registration_id, scopes)
        self._memo.pop(key, None)
        self._store.pop(key)

    def close(self) -> None:
        self._requests_session.close()


def _retry_after(response: requests.Response | None) -> float:
    raw = response.headers.get("Retry-After", "") if response is not None else ""
    return float(raw) if raw.strip().isdigit() else 0.0


def _classified(url: str, exc: BaseException) -> AgsError:
    """One error type per outcome, with a message naming the LMS's answer."""
    host = urlsplit(url).netloc or url
    if isinstance(exc, LtiServiceException):
        response = exc.response
        status = response.status_code if response is not None else None
        text = f"{host} answered {status}"
        detail = _answer_detail(response)
        message = f"{text}: {detail}" if detail else text
        if status is not None and (status in RETRYABLE_STATUSES or status >= 500):
            return AgsUnavailable(message, status, _retry_after(response))
        return AgsRejected(message, status)
    if isinstance(exc, OutboundRefused):
        return AgsRejected(str(exc))
    if isinstance(exc, requests.Timeout):
        return AgsUnavailable(f"{host} did not answer in time")
    if isinstance(exc, requests.RequestException):
        return AgsUnavailable(f"{host} could not be reached")
    return AgsRejected(f"{host} sent an answer Pathwise cannot read")


def _answer_detail(response: requests.Response | None) -> str:
    """The LMS's own short reason (``message`` or ``error_description``), if any."""
    if response is None:
        return ""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    for name in ("message", "error_description", "error", "reason"):
        value = body.get(name)
        if isinstance(value, str) and value:
            return value[:300]
    return ""


class AgsClient:
    """The AGS calls of one link's endpoint claim, through one connector."""

    def __init__(self, connector: CachedTokenConnector, endpoint: Mapping[str, Any]):
        self._connector = connector
        self._endpoint = endpoint
        scopes = endpoint.get("scope")
        self._scopes: list[str] = sorted(
            s
            for s in (scopes if isinstance(scopes, list) else [])
            if isinstance(s, str)
        )

    @property
    def can_score(self) -> bool:
        return SCOPE_SCORE in self._scopes

    def _call(self, url: str, action: Callable[[], Any]) -> Any:
        """Run one service call; on a 401 drop the cached token and try once more."""
        try:
            try:
                return action()
            except LtiServiceException as exc:
                if exc.response is None or exc.response.status_code != 401:
                    raise
                self._connector.forget_token(self._scopes)
                return action()
        except (LtiServiceException, requests.RequestException, ValueError) as exc:
            raise _classified(url, exc) from None

    def find_or_create_lineitem(
        self, *, resource_link_id: str, resource_id: str, tag: str, label: str
    ) -> LineItemRef:
        """The link's line item: the claim's own, else found by resourceId and tag on
        every page of the container (``Link: rel="next"``), else created once."""
        coupled = self._endpoint.get("lineitem")
        if isinstance(coupled, str) and coupled:
            return self._read_lineitem(coupled)
        container = self._endpoint.get("lineitems")
        if not isinstance(container, str) or not container:
            raise AgsRejected("The launch offers neither a line item nor a container.")
        found = self._find_lineitem(container, resource_link_id, resource_id, tag)
        if found is not None:
            return found
        if SCOPE_LINEITEM not in self._scopes:
            raise AgsRejected("The LMS lets Pathwise neither find nor create a column.")
        body = json.dumps(
            {
                "label": label,
                "scoreMaximum": 100,
                "resourceLinkId": resource_link_id,
                "resourceId": resource_id,
                "tag": tag,
            }
        )
        created = self._call(
            container,
            lambda: self._connector.make_service_request(
                self._scopes,
                container,
                is_post=True,
                data=body,
                content_type=MEDIA_LINEITEM,
                accept=MEDIA_LINEITEM,
            ),
        )
        return _lineitem_ref(created["body"])

    def _read_lineitem(self, url: str) -> LineItemRef:
        if not ({SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY} & set(self._scopes)):
            # Scores only: the LMS scales whatever maximum we send.
            return LineItemRef(url=url, score_maximum=100.0)
        answer = self._call(
            url,
            lambda: self._connector.make_service_request(
                self._scopes, url, accept=MEDIA_LINEITEM
            ),
        )
        ref = _lineitem_ref(answer["body"])
        return LineItemRef(url=url, score_maximum=ref.score_maximum)

    def _find_lineitem(
        self, container: str, resource_link_id: str, resource_id: str, tag: str
    ) -> LineItemRef | None:
        url: str | None = container
        for _ in range(MAX_LINEITEM_PAGES):
            if url is None:
                return None
            page = self._lineitems_page(url)
            items = page["body"] if isinstance(page["body"], list) else []
            for item in items:
                if (
                    isinstance(item, dict)
                    and item.get("resourceId") == resource_id
                    and item.get("tag") == tag
                    and item.get("resourceLinkId") in (None, resource_link_id)
                ):
                    return _lineitem_ref(item)
            url = page["next_page_url"]
        return None

    def _lineitems_page(self, url: str) -> Any:
        return self._call(
            url,
            lambda: self._connector.make_service_request(
                self._scopes, url, accept=MEDIA_LINEITEMS
            ),
        )

    def post_score(self, lineitem_url: str, score: ScoreBody) -> None:
        scores_url = _scores_url(lineitem_url)
        self._call(
            scores_url,
            lambda: self._connector.make_service_request(
                self._scopes,
                scores_url,
                is_post=True,
                data=score.as_json(),
                content_type=MEDIA_SCORE,
            ),
        )


def _lineitem_ref(body: Any) -> LineItemRef:
    if not isinstance(body, dict) or not isinstance(body.get("id"), str):
        raise AgsRejected("The LMS answered with a line item that has no id.")
    maximum = body.get("scoreMaximum")
    if isinstance(maximum, bool) or not isinstance(maximum, int | float):
        maximum = 0.0
    return LineItemRef(
        url=body["id"], score_maximum=float(maximum) if maximum > 0 else 100.0
    )


def _scores_url(lineitem_url: str) -> str:
    """``<lineitem>/scores``, keeping a query string where the LMS put one."""
    path, sep, query = lineitem_url.partition("?")
    return path.rstrip("/") + "/scores" + (sep + query if sep else "")
