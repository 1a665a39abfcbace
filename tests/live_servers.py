"""Test support: the development LMS and Pathwise served on real loopback ports.

The LMS (lti_tool.devplatform.platform.DevPlatform) runs as a real HTTP server so the
tool fetches its JWKS and calls its token, AGS and NRPS endpoints over HTTP; the tool
runs with create_app on its own port, or as a second OS process (``tool_process``).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from flask import Flask
from sqlalchemy import Engine
from werkzeug.serving import BaseWSGIServer, make_server

from lti_tool.devplatform.app import create_platform_app
from lti_tool.devplatform.keys import generate_rsa_key
from lti_tool.devplatform.model import ToolConfig
from lti_tool.devplatform.platform import DevPlatform
from lti_tool.infra.config import Settings
from lti_tool.infra.db import db, session_scope
from lti_tool.lti.dev_registration import ensure_registration
from lti_tool.lti.keys import active_keys, create_signing_key
from tests.support_http import free_port, stop_process, wait_until_ready

# RSA generation is the slow part of building an LMS; one key serves the session.
_PLATFORM_KEY: rsa.RSAPrivateKey | None = None


def platform_key() -> rsa.RSAPrivateKey:
    global _PLATFORM_KEY
    if _PLATFORM_KEY is None:
        _PLATFORM_KEY = generate_rsa_key()
    return _PLATFORM_KEY


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


_PROCESS_SCRIPT = """
import sys
from werkzeug.serving import run_simple
from lti_tool.app import create_app
run_simple("127.0.0.1", int(sys.argv[1]), create_app(), threaded=True)
"""


def _process_env(
    settings: Settings, public_url: str, *, redis_url: str
) -> dict[str, str]:
    """The environment of a Pathwise process started by a test, on the test's database."""
    return {
        **os.environ,
        "PATHWISE_ENV": "test",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": redis_url,
        "PATHWISE_SECRET_KEY": settings.secret_key,
        "PATHWISE_ENCRYPTION_KEY": ",".join(settings.encryption_keys),
        "PATHWISE_BASE_URL": public_url,
        "PATHWISE_DATA_DIR": str(settings.data_dir),
        "PATHWISE_LOG_LEVEL": "WARNING",
    }


@contextmanager
def tool_process(settings: Settings, *, public_url: str) -> Iterator[str]:
    """A second Pathwise web process (a real OS process) on the same database and Redis.

    ``public_url`` is the base URL both processes share, as behind a load balancer.
    """
    port = free_port()
    env = _process_env(settings, public_url, redis_url=settings.redis_url or "")
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
            wait_until_ready(
                process,
                lambda: requests.get(url + "/healthz", timeout=1).status_code == 200,
                what="second tool process",
                log=log_path,
            )
            yield url
        finally:
            stop_process(process)


def write_self_signed_cert(
    directory: Path, host: str = "127.0.0.1"
) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for ``host``: (certfile, keyfile) in PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = directory / "cert.pem", directory / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certfile, keyfile


_SERVE_SCRIPT = "import sys; from lti_tool.cli import main; main(sys.argv[1:])"


@contextmanager
def served_by_gunicorn(
    settings: Settings,
    *,
    public_url: str,
    tls: tuple[Path, Path] | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[str]:
    """`pathwise serve` (gunicorn, one worker) on a loopback port; yields its own URL.

    With ``tls`` (certfile, keyfile) it serves https itself; ``public_url`` is
    ``PATHWISE_BASE_URL`` (the proxy's address when one is in front).
    """
    port = free_port()
    args = ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    if tls is not None:
        args += ["--certfile", str(tls[0]), "--keyfile", str(tls[1])]
    scheme = "https" if tls else "http"
    process_env = {
        **_process_env(settings, public_url.replace("{port}", str(port)), redis_url=""),
        **(env or {}),
    }
    url = f"{scheme}://127.0.0.1:{port}"
    log_path = Path(settings.data_dir) / f"gunicorn-{port}.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-c", _SERVE_SCRIPT, *args],
            env=process_env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_ready(
                process,
                lambda: (
                    requests.get(
                        url + "/healthz",
                        timeout=2,
                        verify=str(tls[0]) if tls else True,  # our own self-signed cert
                    ).status_code
                    == 200
                ),
                what="pathwise serve",
                timeout_s=60,
                interval_s=0.2,
                log=log_path,
            )
            yield url
        finally:
            stop_process(process, timeout_s=15)
