"""HTTP adapter: our LRS client (requests), with timeouts, retries and lenient paging.

tincan's client is not used: it has no timeout or retry and fails a whole page on one
unknown field. Pages are parsed into plain dicts; the caller judges each statement.
Failures are in ``lrs_errors``, backoff in ``lrs_retry``, queries and pages in
``statement_query``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import requests

from lti_tool.infra.outbound import (
    AnswerTooLarge,
    OutboundRefused,
    describe_failure,
    outbound_session,
)
from xapi.core.formats import parse_timestamp
from xapi.lrs_errors import (
    BudgetExceeded,
    LrsAnswerTooLarge,
    LrsError,
    LrsRejected,
    LrsUnavailable,
    refusal_message,
)
from xapi.lrs_retry import RETRYABLE_STATUS, RetryPolicy, parse_retry_after
from xapi.statement_query import Page, StatementQuery

log = logging.getLogger(__name__)

VERSION_1 = "1.0.3"
VERSION_2 = "2.0.0"
# /about answers meaning "there is no such resource here", not "you may not".
ABOUT_MISSING = frozenset({404, 405, 501})
SUPPORTED_VERSIONS = (VERSION_1, VERSION_2)


@dataclass(frozen=True)
class VersionCheck:
    """The xAPI version to speak, and why when it is a guess."""

    version: str
    warning: str = ""


class LrsClient:
    """One LRS endpoint (``.../xAPI/``) with basic auth over a ``requests.Session``."""

    def __init__(
        self,
        endpoint: str,
        username: str,
        password: str,
        *,
        session: requests.Session | None = None,
        version: str | None = None,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 30.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.endpoint = endpoint if endpoint.endswith("/") else endpoint + "/"
        parts = urlsplit(self.endpoint)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError(f"LRS endpoint must be an http(s) URL, got {endpoint!r}")
        self.server_root = f"{parts.scheme}://{parts.netloc}/"
        # Every LRS fetch goes through the guarded client (internal addresses are
        # refused in production; answers are size-capped).
        self.http = session or outbound_session()
        self.http.auth = (username, password)
        self.version = version
        self.timeout = (connect_timeout_s, read_timeout_s)
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._clock = clock

    # -- plumbing -----------------------------------------------------------

    def _headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        headers = {"X-Experience-API-Version": self.version or VERSION_1}
        if extra:
            headers.update(extra)
        return headers

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        retries: int | None = None,
        deadline: float | None = None,
    ) -> requests.Response:
        """Send with retries: 5xx, timeouts, connection errors and 429 are retried.

        ``deadline`` (a ``clock()`` value) bounds the whole call including waits.
        Raises LrsRejected on other 4xx, LrsUnavailable when retries run out.
        """
        budget = self.retry.retries if retries is None else retries
        attempt = 0
        while True:
            timeout: tuple[float, float] = self.timeout
            if deadline is not None:
                remaining = deadline - self._clock()
                if remaining <= 0:
                    raise BudgetExceeded(
                        "time budget exhausted before the LRS answered"
                    )
                timeout = (min(timeout[0], remaining), min(timeout[1], remaining))
            wait: float | None
            try:
                response = self.http.request(
                    method,
                    url,
                    params=params,
                    data=data,
                    headers=self._headers(headers),
                    timeout=timeout,
                )
            except AnswerTooLarge as exc:
                raise LrsAnswerTooLarge(str(exc)) from None
            except OutboundRefused as exc:
                raise LrsRejected(str(exc)) from None
            except (requests.ConnectionError, requests.Timeout) as exc:
                # Named, not quoted: the exception text lists internal hosts and ports.
                problem = describe_failure(url, exc)
                status: int | None = None
                body = ""
                wait = None
            else:
                code = response.status_code
                if code < 400:
                    return response
                body = response.text[:2000]
                status = code
                if code == 429 or code in RETRYABLE_STATUS:
                    problem = f"LRS answered {code}"
                    wait = parse_retry_after(response.headers.get("Retry-After"))
                    if wait is not None:
                        wait = min(wait, self.retry.max_retry_after_s)
                else:
                    # The LRS's own words go to the log, not into the message an
                    # admin page shows (remote content is never echoed there).
                    log.info(
                        "LRS refused %s %s: %s %s",
                        method,
                        _logged(url),
                        code,
                        body[:300],
                    )
                    raise LrsRejected(
                        refusal_message(method, urlsplit(url).path, code),
                        status=code,
                        body=body,
                    )
            if attempt >= budget:
                # No answer at all, or only server errors: two different fixes.
                message = (
                    f"LRS unreachable: {problem}"
                    if status is None
                    else f"{problem} (a server error, {attempt + 1} attempts)"
                )
                raise LrsUnavailable(message, status=status, body=body)
            delay = wait if wait is not None else self.retry.backoff(attempt)
            if deadline is not None and self._clock() + delay > deadline:
                raise BudgetExceeded(f"{problem}; no time left to retry", status=status)
            log.info(
                "LRS %s %s: %s; retrying in %.2fs", method, _logged(url), problem, delay
            )
            self._sleep(delay)
            attempt += 1

    # -- resources ----------------------------------------------------------

    def about(self, *, deadline: float | None = None) -> dict[str, Any]:
        response = self.request(
            "GET", urljoin(self.endpoint, "about"), deadline=deadline
        )
        try:
            data = response.json()
        except ValueError:
            raise LrsError("LRS /about did not return JSON") from None
        if not isinstance(data, dict):
            raise LrsError("LRS /about did not return an object")
        return data

    def detect_version(self, *, deadline: float | None = None) -> VersionCheck:
        """xAPI 2.0.0 when the LRS lists it in /about, else 1.0.3.

        Some LRSs have no /about (Ralph answers 404): they are taken to speak 1.0.3,
        with a warning, rather than made unusable. Any other failure is raised.
        """
        try:
            about = self.about(deadline=deadline)
        except LrsRejected as exc:
            if exc.status not in ABOUT_MISSING:
                raise
            warning = (
                f"the LRS has no /about (HTTP {exc.status}); assuming xAPI "
                f"{VERSION_1} (set the version on the connection to choose another)"
            )
            log.warning("%s: %s", self.endpoint, warning)
            return VersionCheck(VERSION_1, warning)
        versions = about.get("version", [])
        if not isinstance(versions, list):
            versions = []
        return VersionCheck(VERSION_2 if VERSION_2 in versions else VERSION_1)

    def negotiate_version(self, *, deadline: float | None = None) -> str:
        """Detect the version (see ``detect_version``) and speak it from now on."""
        self.version = self.detect_version(deadline=deadline).version
        return self.version

    def resolve_more(self, more: str, query: StatementQuery | None = None) -> str:
        """``more`` is relative to the server root (not to the endpoint).

        Some LRSs mangle JSON parameters in it (xapi-statements 5 writes
        ``agent=[object Object]``); those are restored from the original query.
        """
        if not more.startswith(("http://", "https://")):
            more = urljoin(
                self.server_root, more if more.startswith("/") else "/" + more
            )
        elif not more.startswith(self.server_root):
            # The session sends the LRS credentials with every request.
            raise LrsRejected("the LRS's more link points to another server")
        if query is None or query.agent is None:
            return more
        parts = urlsplit(more)
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        fixed = []
        for name, value in pairs:
            if name == "agent":
                try:
                    json.loads(value)
                except ValueError:
                    value = query.params()["agent"]
            fixed.append((name, value))
        return urlunsplit(parts._replace(query=urlencode(fixed)))

    def _page(self, response: requests.Response, started: float) -> Page:
        try:
            data = response.json()
        except ValueError:
            raise LrsError(
                "LRS statement page is not JSON", body=response.text[:500]
            ) from None
        if not isinstance(data, dict):
            raise LrsError("LRS statement page is not a StatementResult object")
        statements = data.get("statements")
        if not isinstance(statements, list):
            statements = []
        more = data.get("more")
        return Page(
            statements=statements,
            more=more if isinstance(more, str) and more.strip() else None,
            consistent_through=parse_timestamp(
                response.headers.get("X-Experience-API-Consistent-Through")
            ),
            elapsed_s=self._clock() - started,
        )

    def get_statements(
        self, query: StatementQuery, *, deadline: float | None = None
    ) -> Page:
        started = self._clock()
        response = self.request(
            "GET",
            urljoin(self.endpoint, "statements"),
            params=query.params(),
            deadline=deadline,
        )
        return self._page(response, started)

    def get_more(
        self,
        more: str,
        *,
        query: StatementQuery | None = None,
        deadline: float | None = None,
    ) -> Page:
        started = self._clock()
        url = self.resolve_more(more, query)
        response = self.request("GET", url, deadline=deadline)
        return self._page(response, started)

    def iter_pages(
        self, query: StatementQuery, *, deadline: float | None = None
    ) -> Iterator[Page]:
        """Every page of a query, following ``more`` until it is absent (even past
        empty pages)."""
        page = self.get_statements(query, deadline=deadline)
        yield page
        while page.more:
            page = self.get_more(page.more, query=query, deadline=deadline)
            yield page

    def put_statement(
        self, statement_id: str, body: str, *, retries: int | None = None
    ) -> int:
        """PUT one statement with our id (idempotent); returns the 2xx status.

        Raises LrsRejected (409 included) or LrsUnavailable.
        """
        response = self.request(
            "PUT",
            urljoin(self.endpoint, "statements"),
            params={"statementId": statement_id},
            data=body.encode("utf-8"),
            headers={"Content-Type": "application/json"},
            retries=retries,
        )
        return response.status_code

    def post_statements(self, statements: Sequence[Mapping[str, Any]]) -> list[str]:
        """POST a batch (used to load test data); returns the stored ids."""
        response = self.request(
            "POST",
            urljoin(self.endpoint, "statements"),
            data=json.dumps(statements, separators=(",", ":")).encode("utf-8"),
            headers={"Content-Type": "application/json"},
        )
        ids = response.json()
        return [str(i) for i in ids] if isinstance(ids, list) else []

    def close(self) -> None:
        self.http.close()


def _logged(url: str) -> str:
    """``url`` without its query: a ``more`` link's query names agents by email."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
