"""Development LMS (pure): why the platform refused a request: code and HTTP status."""

from __future__ import annotations


class PlatformError(Exception):
    """A refused request: a machine-readable ``code`` and an HTTP ``status``."""

    def __init__(self, code: str, description: str, status: int = 400) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description
        self.status = status


class AuthorizationError(PlatformError):
    """The tool's OIDC authentication request breaks the spec (or Moodle's rules)."""


class OAuthError(PlatformError):
    """RFC 6749 token endpoint error (``code`` is the OAuth ``error`` value)."""


class ServiceError(PlatformError):
    """An AGS/NRPS request refused (401/403 for tokens, 400/404/409/415 for content)."""


class DeepLinkError(PlatformError):
    """The tool's LtiDeepLinkingResponse could not be accepted."""
