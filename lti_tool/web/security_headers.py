"""Web layer: the security headers of every response, set in one place.

Pages fall into families that differ in who may frame them and where their forms
may post:

- LTI and learner pages (``/lti/``, ``/app/``) are shown in the LMS's iframe, so
  ``frame-ancestors`` names exactly the registered platforms (plus
  ``PATHWISE_FRAME_ANCESTORS`` and, in development, the development LMS). Their forms
  post to Pathwise or back to the platform (the deep-linking return).
- The console (``/admin/``) and every other page may not be framed at all: a framed
  console would let a page elsewhere trick an admin into one click (rotate the key).
- The development LMS (never in production) keeps its inline scripts and styles.
- Anything that is not HTML (JSON, JWKS, static files) gets a policy that allows
  nothing, so a browser can never be made to run it as a page.

Inline scripts carry a per-response nonce (``csp_nonce()`` in templates); no policy
allows ``'unsafe-inline'`` scripts outside the development LMS.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable

from flask import Flask, g, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from lti_tool.infra.config import Settings
from lti_tool.lti.frame_origins import platform_origins, url_origin
from lti_tool.web.transaction import request_session

log = logging.getLogger("pathwise.web")

# Flask-WTF refuses an https POST whose Referer is missing or cross-origin, so the
# policy must keep same-origin Referers; cross-site requests see the origin only.
REFERRER_POLICY = "strict-origin-when-cross-origin"
HSTS = "max-age=31536000"
NOTHING_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"

LTI_PREFIXES = ("/lti/", "/app/")
CONSOLE_PREFIX = "/admin"
DEV_PLATFORM_PREFIX = "/dev-platform"


def csp_nonce() -> str:
    """This response's script nonce, made on first use (pages without scripts get none)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    nonce: str = g.csp_nonce
    return nonce


def _sources(values: Iterable[str]) -> str:
    return " ".join(sorted(set(values)))


def page_policy(*, nonce: str | None, framers: str, form_targets: str) -> str:
    """The CSP of one of Pathwise's own HTML pages."""
    script = "'self'" + (f" 'nonce-{nonce}'" if nonce else "")
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src {script}",
            "style-src 'self'",
            "img-src 'self' data:",
            "object-src 'none'",
            "base-uri 'none'",
            f"form-action {form_targets}",
            f"frame-ancestors {framers}",
        )
    )


DEV_PLATFORM_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'self'",
    )
)


def _lms_origins(settings: Settings) -> set[str]:
    """Who may frame an LTI page: the registered platforms and the configured extras."""
    origins = set(settings.frame_ancestors)
    if settings.dev_platform_enabled and not settings.is_production:
        origins.add("'self'")  # the development LMS is mounted on this origin
    try:
        origins |= platform_origins(request_session())
    except SQLAlchemyError:
        log.warning("frame-ancestors: registrations unreadable; no platform may frame")
    if request.endpoint == "lti.register":
        # Dynamic Registration opens in the LMS's own window or frame before the
        # platform is registered: allow the origin of the configuration it offers.
        offered = url_origin(request.values.get("openid_configuration"))
        if offered:
            origins.add(offered)
    return origins


def _html_policy(settings: Settings, response: Response) -> str:
    path = request.path
    nonce = g.get("csp_nonce")
    if path.startswith(DEV_PLATFORM_PREFIX):
        return DEV_PLATFORM_POLICY
    if not path.startswith(LTI_PREFIXES):
        return page_policy(nonce=nonce, framers="'none'", form_targets="'self'")
    if response.status_code >= 400:
        # A refused launch's page has nothing to click and no token; the LMS admin
        # fixing a registration must still read its reason code inside the frame.
        return page_policy(nonce=nonce, framers="*", form_targets="'self'")
    origins = _lms_origins(settings)
    framers = _sources(origins) if origins else "'none'"
    return page_policy(
        nonce=nonce, framers=framers, form_targets=_sources({"'self'", *origins})
    )


def init_app(app: Flask, settings: Settings) -> None:
    """Install the header hook; register it after the transaction's, so it runs first.

    Flask runs ``after_request`` hooks in reverse order: this one then reads the
    platform origins inside the request's transaction, whose revision stamp is
    usually already read, before the commit.
    """
    app.jinja_env.globals["csp_nonce"] = csp_nonce

    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = REFERRER_POLICY
        if settings.is_production:
            headers["Strict-Transport-Security"] = HSTS
        if response.mimetype == "text/html":
            headers["Content-Security-Policy"] = _html_policy(settings, response)
            if request.path.startswith(CONSOLE_PREFIX):
                headers["X-Frame-Options"] = "DENY"  # browsers without frame-ancestors
        else:
            headers["Content-Security-Policy"] = NOTHING_POLICY
        return response
