"""Web plumbing shared by every blueprint: the per-request session and its transaction."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from lti_tool.infra.config import Settings
from lti_tool.infra.db import db


def request_session() -> Session:
    """The request's session; committed after a successful response, else rolled back."""
    if "db_session" not in g:
        g.db_session = db.session()
    session: Session = g.db_session
    return session


def settings() -> Settings:
    value: Settings = current_app.extensions["pathwise.settings"]
    return value


def init_app(app: Flask) -> None:
    @app.teardown_request
    def _finish_request_session(exc: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is None:
            return
        try:
            if exc is None and not g.get("db_rollback", False):
                session.commit()
            else:
                session.rollback()
        finally:
            session.close()

    @app.after_request
    def _commit_before_response(response: Any) -> Any:
        # Commit before the body leaves so a client never sees a page whose write failed.
        session: Session | None = g.get("db_session")
        if (
            session is not None
            and response.status_code < 400
            and not g.get("db_rollback")
        ):
            session.commit()
        return response
