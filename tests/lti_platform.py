"""Test harness: the development LMS and the tool on real loopback ports, and a browser-like client.

The LMS (lti_tool.devplatform.platform.DevPlatform) runs as a real HTTP server so the
tool fetches its JWKS and calls its token, AGS and NRPS endpoints over HTTP;
the tool runs with create_app on its own port. ``LtiBrowser`` walks the launch
as a browser would: login initiation, redirect to the LMS, the auto-posted
id_token and the tool's state cookie.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlparse

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from sqlalchemy import Engine, select
from werkzeug.serving import BaseWSGIServer, make_server

from lti_tool.devplatform.platform import (
    DROP,
    LEARNER,
    MESSAGE_RESOURCE_LINK,
    DevPlatform,
    SampleUser,
    ToolConfig,
    create_platform_app,
    ensure_registration,
    generate_rsa_key,
)
from lti_tool.infra.config import Settings
from lti_tool.infra.db import db, session_scope
from lti_tool.infra.models import Registration
from lti_tool.lti.keys import active_keys, create_signing_key
from tests.conftest import truncate_all

LAUNCH_LOGGER = "pathwise.launch"

# RSA generation is the slow part of building an LMS; one key serves the session.
_PLATFORM_KEY: rsa.RSAPrivateKey | None = None


def platform_key() -> rsa.RSAPrivateKey:
    global _PLATFORM_KEY
    if _PLATFORM_KEY is None:
        _PLATFORM_KEY = generate_rsa_key()
    return _PLATFORM_KEY


# ----------------------------------------------------------------- servers


class _Slot:
    """A WSGI app filled in after the server has its port (the app needs its own URL)."""

    def __init__(self) -> None:
        self.app: Any = None

    def __call__(self, environ: Any, start_response: Any) -> Any:
        return self.app(environ, start_response)


@dataclass
class LiveServer:
    url: str
    server: BaseWSGIServer
    thread: threading.Thread

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve(build: Callable[[str], Any]) -> LiveServer:
    """Bind 127.0.0.1 on a free port, build the app for that URL, serve it in a thread."""
    slot = _Slot()
    server = make_server("127.0.0.1", 0, slot, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    slot.app = build(url)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return LiveServer(url=url, server=server, thread=thread)


@dataclass
class LivePlatform:
    """The development LMS served on a loopback port; ``platform`` is its live state."""

    platform: DevPlatform
    server: LiveServer

    @property
    def issuer(self) -> str:
        return self.platform.issuer


@contextmanager
def running_platform(**kwargs: Any) -> Iterator[LivePlatform]:
    holder: dict[str, DevPlatform] = {}
    key = kwargs.pop("key", None) or platform_key()

    def build(url: str) -> Flask:
        holder["platform"] = DevPlatform(url + "/dev-platform", key=key, **kwargs)
        return create_platform_app(holder["platform"])

    server = serve(build)
    try:
        yield LivePlatform(platform=holder["platform"], server=server)
    finally:
        server.stop()


@dataclass
class LiveTool:
    """Pathwise served on a loopback port, registered with the LMS and vice versa."""

    url: str
    app: Flask | None
    settings: Settings
    registration_id: int

    @property
    def launch_url(self) -> str:
        return self.url + "/lti/launch"


def register_tool(
    lms: LivePlatform,
    tool_url: str,
    *,
    client_id: str = "pathwise-test-client",
    deployment_id: str = "test-deployment-1",
    extra_redirect_uris: tuple[str, ...] = (),
) -> int:
    """Both sides of a manual registration: the LMS's tool entry and the tool's rows."""
    lms.platform.add_tool(
        ToolConfig.for_tool_base(
            tool_url,
            client_id=client_id,
            deployment_id=deployment_id,
            extra_redirect_uris=extra_redirect_uris,
        )
    )
    with session_scope() as session:
        # As `pathwise db upgrade` does on a real install.
        if not active_keys(session):
            create_signing_key(session)
        registration = ensure_registration(
            session,
            issuer=lms.issuer,
            client_id=client_id,
            deployment_id=deployment_id,
            name="Test LMS",
        )
        return registration.id


@contextmanager
def running_tool(settings: Settings, engine: Engine) -> Iterator[tuple[str, Flask]]:
    from lti_tool.app import create_app

    apps: list[Flask] = []

    def build(url: str) -> Flask:
        app = create_app(settings.with_overrides(base_url=url))
        db.configure(settings.database_url, engine=engine)
        apps.append(app)
        return app

    server = serve(build)
    try:
        yield server.url, apps[0]
    finally:
        server.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


_PROCESS_SCRIPT = """
import sys
from werkzeug.serving import run_simple
from lti_tool.app import create_app
run_simple("127.0.0.1", int(sys.argv[1]), create_app(), threaded=True)
"""


@contextmanager
def tool_process(settings: Settings, *, public_url: str) -> Iterator[str]:
    """A second Pathwise web process (a real OS process) on the same database and Redis.

    ``public_url`` is the base URL both processes share, as behind a load balancer.
    """
    port = free_port()
    env = {
        **os.environ,
        "PATHWISE_ENV": "test",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url or "",
        "PATHWISE_SECRET_KEY": settings.secret_key,
        "PATHWISE_ENCRYPTION_KEY": ",".join(settings.encryption_keys),
        "PATHWISE_BASE_URL": public_url,
        "PATHWISE_DATA_DIR": str(settings.data_dir),
        "PATHWISE_LOG_LEVEL": "WARNING",
    }
    log_path = Path(settings.data_dir) / f"tool-process-{port}.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-c", _PROCESS_SCRIPT, str(port)],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if requests.get(url + "/healthz", timeout=1).status_code == 200:
                        break
                except requests.ConnectionError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "second tool process did not start:\n" + log_path.read_text()
                    )
                time.sleep(0.1)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


# ----------------------------------------------------------------- browser


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(
                (values.get("action", ""), values.get("method", "get"), {})
            )
        elif tag == "input" and self.forms and values.get("name"):
            if values.get("type") in {"checkbox", "radio"} and "checked" not in values:
                return
            self.forms[-1][2][values["name"]] = values.get("value", "")


def parse_form(page: str, index: int = 0) -> tuple[str, dict[str, str]]:
    """The action and the submitted fields of a page's form (auto-posting forms)."""
    parser = _FormParser()
    parser.feed(page)
    if len(parser.forms) <= index:
        raise AssertionError(f"no form #{index} in page:\n{page[:2000]}")
    action, _, fields = parser.forms[index]
    return action, fields


@dataclass
class AuthRequest:
    """The tool's redirect to the LMS after login: where to, with which state and nonce."""

    url: str
    params: dict[str, str]
    login_response: requests.Response

    @property
    def state(self) -> str:
        return self.params["state"]

    @property
    def nonce(self) -> str:
        return self.params["nonce"]


@dataclass
class LaunchRun:
    """One launch walked end to end: what was posted and what the tool answered."""

    fields: dict[str, str]
    launch_response: requests.Response
    response: requests.Response
    browser: LtiBrowser
    auth: AuthRequest | None = None

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def text(self) -> str:
        return self.response.text


@dataclass
class LtiBrowser:
    """A cookie-keeping client walking the LTI flow between a live LMS and a live tool."""

    lms: LivePlatform
    tool: LiveTool
    client_id: str | None = None
    http: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        # Browsers accept Secure cookies from http://127.0.0.1 (a trustworthy origin).
        self.http.cookies.set_policy(
            DefaultCookiePolicy(secure_protocols=("https", "wss", "http"))
        )

    def login(
        self,
        user: SampleUser | str = LEARNER,
        *,
        message_type: str = MESSAGE_RESOURCE_LINK,
        method: str = "POST",
        login_url: str | None = None,
        **overrides: Any,
    ) -> AuthRequest:
        """Start a launch at the LMS and send its login initiation to the tool."""
        initiation = self.lms.platform.start_launch(
            user,
            message_type=message_type,
            client_id=self.client_id or self.tool_client_id,
            **overrides,
        )
        target = login_url or initiation.login_url
        if method == "GET":
            response = self.http.get(
                target, params=initiation.params, allow_redirects=False, timeout=15
            )
        else:
            response = self.http.post(
                target, data=initiation.params, allow_redirects=False, timeout=15
            )
        if response.status_code != 302:
            raise AssertionError(
                f"login answered {response.status_code}, not a redirect:\n{response.text}"
            )
        location = urljoin(target, response.headers["Location"])
        params = {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}
        return AuthRequest(url=location, params=params, login_response=response)

    @property
    def tool_client_id(self) -> str:
        with session_scope() as session:
            registration = session.get(Registration, self.tool.registration_id)
            assert registration is not None
            return registration.client_id

    def authorize(self, auth: AuthRequest) -> tuple[str, dict[str, str]]:
        """Follow the tool's redirect to the LMS; return the auto-posted form."""
        response = self.http.get(auth.url, allow_redirects=False, timeout=15)
        if response.status_code != 200:
            raise AssertionError(
                f"LMS auth answered {response.status_code}:\n{response.text}"
            )
        return parse_form(response.text)

    def post_launch(
        self,
        fields: Mapping[str, str],
        *,
        to: str | None = None,
        follow: bool = True,
    ) -> tuple[requests.Response, requests.Response]:
        """POST the id_token form to the tool; return (launch answer, final page)."""
        target = to or self.tool.launch_url
        answer = self.http.post(
            target, data=dict(fields), allow_redirects=False, timeout=30
        )
        final = answer
        if follow and answer.status_code in {302, 303}:
            final = self.http.get(
                urljoin(target, answer.headers["Location"]),
                allow_redirects=True,
                timeout=30,
            )
        return answer, final

    def launch(
        self,
        user: SampleUser | str = LEARNER,
        *,
        message_type: str = MESSAGE_RESOURCE_LINK,
        method: str = "POST",
        form_changes: Mapping[str, Any] | None = None,
        post_to: str | None = None,
        login_url: str | None = None,
        **overrides: Any,
    ) -> LaunchRun:
        """The whole flow: login, LMS auth, id_token POST, landing page.

        ``overrides`` reach the id_token (see DevPlatform.make_id_token);
        ``form_changes`` alter the posted form (DROP removes a field).
        """
        auth = self.login(
            user,
            message_type=message_type,
            method=method,
            login_url=login_url,
            **overrides,
        )
        action, fields = self.authorize(auth)
        assert action == auth.params["redirect_uri"]
        for name, value in (form_changes or {}).items():
            if value is DROP:
                fields.pop(name, None)
            else:
                fields[name] = value
        answer, final = self.post_launch(fields, to=post_to)
        return LaunchRun(
            fields=fields,
            launch_response=answer,
            response=final,
            browser=self,
            auth=auth,
        )

    def post_id_token(
        self,
        make_token: Callable[[AuthRequest], str],
        *,
        user: SampleUser | str = LEARNER,
        state: str | None = None,
    ) -> LaunchRun:
        """A real login, then a hand-crafted id_token posted with its state and cookie.

        ``make_token`` gets the tool's auth request (state, nonce) and returns the token.
        """
        auth = self.login(user)
        fields = {
            "id_token": make_token(auth),
            "state": auth.state if state is None else state,
        }
        answer, final = self.post_launch(fields)
        return LaunchRun(
            fields=fields,
            launch_response=answer,
            response=final,
            browser=self,
            auth=auth,
        )


# ------------------------------------------------------------------ fixtures


@dataclass
class LtiHarness:
    lms: LivePlatform
    tool: LiveTool

    @property
    def platform(self) -> DevPlatform:
        return self.lms.platform

    def browser(self, client_id: str | None = None) -> LtiBrowser:
        return LtiBrowser(self.lms, self.tool, client_id=client_id)

    def do_launch(
        self,
        user: SampleUser | str = LEARNER,
        *,
        message_type: str = MESSAGE_RESOURCE_LINK,
        **claim_overrides: Any,
    ) -> LaunchRun:
        """A launch by a fresh browser; ``claim_overrides`` reach the id_token."""
        return self.browser().launch(user, message_type=message_type, **claim_overrides)

    def post_id_token(
        self, make_token: Callable[[AuthRequest], str], **kwargs: Any
    ) -> LaunchRun:
        return self.browser().post_id_token(make_token, **kwargs)


@pytest.fixture
def lms() -> Iterator[LivePlatform]:
    with running_platform() as live:
        yield live


@pytest.fixture
def live_tool(
    settings: Settings, engine: Engine, lms: LivePlatform
) -> Iterator[LiveTool]:
    """Pathwise on a real port, registered with the ``lms`` fixture's platform."""
    with running_tool(settings, engine) as (url, app):
        registration_id = register_tool(lms, url)
        yield LiveTool(
            url=url,
            app=app,
            settings=app.extensions["pathwise.settings"],
            registration_id=registration_id,
        )
    truncate_all(engine)


@pytest.fixture
def lti(lms: LivePlatform, live_tool: LiveTool) -> LtiHarness:
    return LtiHarness(lms=lms, tool=live_tool)


@pytest.fixture
def launch_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger=LAUNCH_LOGGER)
    return caplog


def rejection_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == LAUNCH_LOGGER and r.getMessage().startswith("launch rejected:")
    ]


_TOKEN_META = re.compile(r'<meta name="pathwise-launch-token" content="([^"]+)">')


def launch_token(page: str) -> str:
    """The launch token a learner page carries in its ``<meta>`` (never in a URL)."""
    match = _TOKEN_META.search(page)
    assert match is not None, page[:500]
    return match.group(1)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def registration_row(registration_id: int) -> Registration:
    with session_scope() as session:
        row = session.scalar(
            select(Registration).where(Registration.id == registration_id)
        )
        assert row is not None
        session.expunge(row)
        return row
