"""LRS failures by what the caller should do next, and what a refusal tells the admin.

Kept apart from the HTTP client so that callers that only judge a failure (jobs,
the console) need not know how it was sent.
"""

from __future__ import annotations


class LrsError(Exception):
    """The LRS could not be used for this request."""

    def __init__(
        self, message: str, *, status: int | None = None, body: str = ""
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class LrsUnavailable(LrsError):
    """Network failure, timeout, 5xx or 429 after every retry (worth trying later)."""


class LrsRejected(LrsError):
    """A 4xx: the LRS refuses the request itself (fix credentials, data or config)."""


class LrsAnswerTooLarge(LrsRejected):
    """A page larger than the outbound answer cap: ask for fewer statements."""


class BudgetExceeded(LrsUnavailable):
    """The caller's time budget ran out before the request could complete."""


def refusal_message(method: str, path: str, status: int) -> str:
    """What a 4xx means for the admin: credentials, permissions or the URL.

    An admin who sees "refused" after a 404 checks the key and secret in vain, so
    the three causes get three different sentences.
    """
    request = f"{method} {path}"
    if status == 401:
        return (
            f"LRS rejected the credentials ({request}: 401): check the key and secret"
        )
    if status == 403:
        return (
            f"LRS denied {request} to these credentials (403): check the key's "
            "permissions (it needs to read and write statements)"
        )
    if status == 404:
        return (
            f"LRS has no {request} (404): check the endpoint URL (it is the xAPI "
            "base, usually ending in /xAPI/)"
        )
    return f"LRS refused {request}: {status}"
