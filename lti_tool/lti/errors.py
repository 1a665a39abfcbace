"""LTI protocol: the one exception a login, launch or launch token raises when it must stop."""

from __future__ import annotations


class LaunchRejected(Exception):
    """A launch or login that must not proceed; ``code`` names the reason for the log and page."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
