"""Composition root: build the Flask app from one Settings object."""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_wtf import CSRFProtect
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from admin.lrs_views import bp as admin_lrs_bp
from admin.people_views import bp as admin_people_bp
from admin.views import bp as admin_bp
from lti_tool.devplatform_wiring import init_dev_platform
from lti_tool.infra.config import Settings
from lti_tool.infra.health import readiness
from lti_tool.infra.queue import job_queue
from lti_tool.runtime import configure_runtime
from lti_tool.web import security_headers
from lti_tool.web import transaction as web
from lti_tool.web.api_views import api_bp
from lti_tool.web.learner_views import learner_bp
from lti_tool.web.lti_views import bp as lti_bp
from lti_tool.web.manager_views import manager_bp
from lti_tool.web.xapi_lrs_views import xapi_lrs_bp


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    configure_runtime(settings)

    app = Flask(__name__)
    if settings.proxy_hops:
        # Behind a TLS proxy: the client's address and scheme come from the forwarded
        # headers the trusted hops set (sign-in throttling counts per client, not per
        # proxy); with no hops configured, forwarded headers are ignored.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app,
            x_for=settings.proxy_hops,
            x_proto=settings.proxy_hops,
            x_host=0,
        )
    secure = settings.base_url.startswith("https://")
    app.config.update(
        SECRET_KEY=settings.secret_key,
        # Console cookie only (learner pages use the launch token). Cross-site capable
        # under https so the console also works inside an LMS frame; plain http (the
        # local demo) cannot carry SameSite=None, so it falls back to Lax.
        SESSION_COOKIE_SAMESITE="None" if secure else "Lax",
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_PARTITIONED=secure,
        SESSION_COOKIE_NAME="pathwise_session",
        WTF_CSRF_TIME_LIMIT=None,
        PREFERRED_URL_SCHEME="https"
        if settings.base_url.startswith("https")
        else "http",
        TEMPLATES_AUTO_RELOAD=not settings.is_production,
        # Refuse an oversized body before anything parses it (413): a launch is a
        # few KiB, and a 40 MB id_token must not reach the JSON decoder.
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        MAX_FORM_MEMORY_SIZE=settings.max_request_bytes,
    )
    app.extensions["pathwise.settings"] = settings
    web.init_app(app)
    # After the transaction's hook, so it runs before the commit (see its docstring).
    security_headers.init_app(app, settings)

    csrf = CSRFProtect(app)

    # One routing table. LTI endpoints are called by LMSs (form posts signed by JWT,
    # not by our CSRF token); learner API calls carry the signed launch token instead.
    csrf.exempt(lti_bp)
    csrf.exempt(learner_bp)
    # Same-origin checks and the launch token in the body guard its forms instead.
    csrf.exempt(manager_bp)
    csrf.exempt(api_bp)
    # External xAPI content calls the LRS facade from its own origin with the
    # credential of its launch in the Authorization header (no cookie is read).
    csrf.exempt(xapi_lrs_bp)
    app.register_blueprint(lti_bp)
    app.register_blueprint(learner_bp)
    app.register_blueprint(manager_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(xapi_lrs_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(admin_lrs_bp)
    app.register_blueprint(admin_people_bp)
    if settings.dev_platform_enabled and not settings.is_production:
        init_dev_platform(app, settings)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> tuple[str, int]:
        code = exc.code or 500
        if isinstance(exc, RequestEntityTooLarge):
            # LTI and learner pages log their own line (request_too_large); the rest here.
            logging.getLogger("pathwise.web").warning(
                "request refused: request_too_large length=%s path=%s",
                request.content_length,
                request.path,
            )
        return (
            render_template(
                "error.html", title=exc.name, message=exc.description, code=code
            ),
            code,
        )

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> tuple[dict[str, str], int]:
        state = readiness(web.request_session(), job_queue.connection)
        return state.as_dict(), 200 if state.ready else 503

    @app.get("/")
    def index() -> str:
        return render_template("index.html", settings=settings)

    return app
