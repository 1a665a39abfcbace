"""Console test helpers: CSRF tokens, signing in, saved session cookies, the CLI."""

from __future__ import annotations

import re

from click.testing import CliRunner, Result
from flask.testing import FlaskClient
from sqlalchemy import Engine

from lti_tool.cli import main
from lti_tool.infra.config import Settings
from lti_tool.infra.db import db
from lti_tool.infra.queue import job_queue

PASSWORD = "correct horse battery"
SESSION_COOKIE = "pathwise_session"


def csrf(html: bytes) -> str:
    """The CSRF token of the (first) form on a console page."""
    match = re.search(
        rb'name="csrf_token" type="hidden" value="([^"]+)"', html
    ) or re.search(rb'name="csrf_token" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1).decode()


def try_sign_in(
    client: FlaskClient, username: str, password: str = PASSWORD, query: str = ""
) -> tuple[int, str]:
    """POST the sign-in form as a browser would; returns (status, Location or page)."""
    token = csrf(client.get("/admin/login").data)
    response = client.post(
        "/admin/login" + query,
        data={"username": username, "password": password, "csrf_token": token},
    )
    if response.status_code == 302:
        return 302, response.headers["Location"]
    return response.status_code, response.get_data(as_text=True)


def sign_in(client: FlaskClient, username: str, password: str = PASSWORD) -> None:
    """Sign in through the login form and insist that it worked."""
    status, text = try_sign_in(client, username, password)
    assert status == 302, text[:500]


def saved_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie(SESSION_COOKIE)
    assert cookie is not None
    return cookie.value


def replay(client: FlaskClient, cookie: str, path: str = "/admin/") -> int:
    """GET ``path`` with only a saved session cookie (a fresh browser, same cookie)."""
    client.delete_cookie(SESSION_COOKIE)
    client.set_cookie(SESSION_COOKIE, cookie)
    return client.get(path).status_code


def run_cli(
    settings: Settings,
    engine: Engine,
    args: list[str],
    stdin: str | None = None,
    redis_url: str = "",
) -> Result:
    """Run `pathwise ...` against the test database, then give the app its engine back.

    Without ``redis_url`` jobs run in-process, as in embedded mode; the job queue is
    left unconfigured afterwards either way.
    """
    env = {
        "PATHWISE_ENV": "test",
        "DATABASE_URL": settings.database_url,
        "PATHWISE_SECRET_KEY": settings.secret_key,
        "PATHWISE_ENCRYPTION_KEY": ",".join(settings.encryption_keys),
        "PATHWISE_DATA_DIR": str(settings.data_dir),
        "REDIS_URL": redis_url,
        "USER": "operator",
    }
    try:
        return CliRunner().invoke(main, args, input=stdin, env=env)
    finally:
        job_queue.configure(None)
        db.configure(settings.database_url, engine=engine)
