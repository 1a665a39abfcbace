"""Web layer plumbing shared by every blueprint: the per-request session and its transaction.

The request owns the transaction: it commits after a successful response and rolls
back on an error or a rejected launch. A GET or HEAD never commits (a page view, a
prefetch or a crawler must not change anything), except for the few protocol
endpoints marked with ``writes_on_get`` because a standard makes them GETs that store.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, g, request
from sqlalchemy.orm import Session

from lti_tool.infra.config import Settings
from lti_tool.infra.db import db
from lti_tool.infra.queue import job_queue
from lti_tool.infra.store import ExpiringStore, make_durable_store, make_store

READ_ONLY_METHODS = frozenset({"GET", "HEAD"})
_WRITES_ON_GET = "_pathwise_writes_on_get"
_READ_ONLY_POST = "_pathwise_read_only_post"

View = TypeVar("View", bound=Callable[..., Any])


def writes_on_get(view: View) -> View:
    """Let a protocol endpoint commit on GET: the standard makes it a GET that stores.

    Put it under the route decorator. Only endpoints whose protocol requires a GET
    to write belong here (OIDC login initiation, LTI Dynamic Registration); a test
    keeps the list exact.
    """
    setattr(view, _WRITES_ON_GET, True)
    return view


def read_only_post(view: View) -> View:
    """Never commit this POST: it is a page view that only carries a token in its body.

    Learner pages are re-opened by POSTing the launch token (never in a URL); that POST
    is a read like a GET and is held to the same rule.
    """
    setattr(view, _READ_ONLY_POST, True)
    return view


def endpoints_writing_on_get(app: Flask) -> set[str]:
    """The endpoints of ``app`` allowed to commit a GET (see ``writes_on_get``)."""
    return {
        name
        for name, view in app.view_functions.items()
        if getattr(view, _WRITES_ON_GET, False)
    }


def request_session() -> Session:
    """The request's session; committed after a successful response, else rolled back."""
    if "db_session" not in g:
        g.db_session = db.session()
    session: Session = g.db_session
    return session


def request_store() -> ExpiringStore:
    """The shared expiring store; in embedded mode a table in the request's transaction."""
    return make_store(job_queue.connection, request_session())


def durable_store() -> ExpiringStore:
    """The shared store for values a rejected request must not roll back (JWKS cache).

    In embedded mode each write commits in its own short session, outside the
    request's transaction; with Redis it is the same store as ``request_store``.
    SQLite has one writer at a time, so use it before the request's own first write
    (a launch fetches keys before it consumes its nonce), or it waits for the request.
    """
    return make_durable_store(job_queue.connection, db.session)


def settings() -> Settings:
    value: Settings = current_app.extensions["pathwise.settings"]
    return value


def _may_commit() -> bool:
    if g.get("db_rollback", False):
        return False
    view = current_app.view_functions.get(request.endpoint or "")
    if request.method not in READ_ONLY_METHODS:
        return not getattr(view, _READ_ONLY_POST, False)
    return bool(getattr(view, _WRITES_ON_GET, False))


def init_app(app: Flask) -> None:
    @app.teardown_request
    def _finish_request_session(exc: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is None:
            return
        try:
            if exc is None and _may_commit():
                session.commit()
            else:
                session.rollback()
        finally:
            session.close()

    @app.after_request
    def _commit_before_response(response: Any) -> Any:
        # Commit before the body leaves so a client never sees a page whose write failed.
        session: Session | None = g.get("db_session")
        if session is not None and response.status_code < 400 and _may_commit():
            session.commit()
        return response
