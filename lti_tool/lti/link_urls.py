"""LTI protocol: which URLs a platform may name, for the tool (target_link_uri) and for itself.

Both come from the platform, and both end up where a browser goes next: the
``target_link_uri`` says which tool page a launch is for, and the deep-link return
URL becomes the ``action`` of a form Pathwise auto-submits on its own origin. A
``javascript:`` URL there is script on Pathwise's origin, so the scheme and the
origin are checked at the launch (no page with the URL is ever rendered) and again
when the response form is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from lti_tool.infra.models import Registration
from lti_tool.lti.errors import LaunchRejected

DEFAULT_PORTS = {"http": 80, "https": 443}
# Instructure-hosted Canvas signs every school's launches as one issuer, while each
# school's Canvas (where the deep-link return URL lives) is a subdomain of this one.
CANVAS_CLOUD_ISSUER_HOSTS = frozenset(
    {
        "canvas.instructure.com",
        "canvas.beta.instructure.com",
        "canvas.test.instructure.com",
    }
)
CANVAS_CLOUD_DOMAIN = ".instructure.com"


@dataclass(frozen=True)
class LinkPolicy:
    """The tool's own launch URL and which platform URLs a browser may be sent to.

    ``allow_http`` is for the local demo only (the development LMS is plain http);
    ``extra_return_origins`` are origins an operator vouches for (a Canvas vanity
    domain) on top of the registration's own.
    """

    launch_url: str
    allow_http: bool
    extra_return_origins: tuple[str, ...] = ()


def _parts(url: object) -> SplitResult | None:
    """``url`` split, or None if it is not a plain absolute http(s) URL."""
    if not isinstance(url, str) or not url:
        return None
    # Browsers drop tabs and newlines inside URLs and trim control characters, so a
    # scheme check on the raw text could be fooled by "java\tscript:": refuse them.
    if any(ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in url):
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return parts


def origin_of(url: str | None) -> str | None:
    """``scheme://host[:port]``, lower case and without a default port; None if not http(s)."""
    parts = _parts(url)
    if parts is None or parts.hostname is None:
        return None
    port = parts.port or DEFAULT_PORTS[parts.scheme]
    suffix = "" if port == DEFAULT_PORTS[parts.scheme] else f":{port}"
    return f"{parts.scheme}://{parts.hostname.lower()}{suffix}"


def check_target_link_uri(value: object, *, launch_url: str) -> None:
    """The target must be the tool's launch URL (a query string may follow).

    Raises:
        LaunchRejected: ``bad_target_link_uri`` for any other URL.
    """
    parts = _parts(value)
    own = urlsplit(launch_url)
    if (
        parts is None
        or origin_of(str(value)) != origin_of(launch_url)
        or parts.path != own.path
    ):
        raise LaunchRejected(
            "bad_target_link_uri",
            f"The launch targets {str(value)[:200]!r}, which is not Pathwise's launch "
            f"URL {launch_url}.",
        )


def platform_origins(registration: Registration) -> set[str]:
    """The origins a registration's own URLs name: issuer, auth login, token, key set.

    They are what an administrator entered (or accepted) for this LMS, so they are
    the LMS's hosts; Moodle's return URL sits on its issuer's origin, for example.
    """
    urls = (
        registration.issuer,
        registration.auth_login_url,
        registration.auth_token_url,
        registration.key_set_url,
    )
    return {origin for url in urls if (origin := origin_of(url)) is not None}


def check_return_url(
    value: object, registration: Registration, *, policy: LinkPolicy
) -> str:
    """The deep-link return URL if the registration's platform may name it.

    It must be an absolute https URL (http only when ``policy.allow_http``) on one
    of ``platform_origins``, a Canvas school's subdomain for Instructure's issuer,
    or an origin the operator listed.

    Raises:
        LaunchRejected: ``bad_return_url`` otherwise.
    """
    parts = _parts(value)
    origin = origin_of(value) if isinstance(value, str) else None
    if parts is None or origin is None:
        raise LaunchRejected(
            "bad_return_url",
            "The LMS's deep_link_return_url is not an absolute http(s) URL.",
        )
    if parts.scheme != "https" and not policy.allow_http:
        raise LaunchRejected(
            "bad_return_url", "The LMS's deep_link_return_url must use https."
        )
    allowed = platform_origins(registration) | set(policy.extra_return_origins)
    if origin in allowed or _is_canvas_school(registration, parts):
        return str(value)
    raise LaunchRejected(
        "bad_return_url",
        f"The LMS's deep_link_return_url is on {origin}, which is not one of this "
        "platform's registered origins.",
    )


def _is_canvas_school(registration: Registration, parts: SplitResult) -> bool:
    issuer = _parts(registration.issuer)
    return (
        issuer is not None
        and (issuer.hostname or "").lower() in CANVAS_CLOUD_ISSUER_HOSTS
        and parts.scheme == "https"
        and (parts.hostname or "").lower().endswith(CANVAS_CLOUD_DOMAIN)
        and parts.port in (None, 443)
    )
