"""A real LRS for tests: Learning Locker's xapi-statements (in memory), plus a TCP proxy.

The proxy lets a test cut the network between Pathwise and the LRS without losing the
LRS's in-memory data (which a restart would).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support_env import require_service
from tests.support_http import free_port, stop_process, wait_until_ready

ROOT = Path(__file__).resolve().parent.parent
LRS_PACKAGE_DIR = Path(
    os.environ.get(
        "PATHWISE_TEST_LRS_DIR",
        str(ROOT / ".cache" / "lrs" / "node_modules" / "xapi-statements"),
    )
)


def lrs_available() -> str | None:
    """None when the LRS can run here, else the reason it cannot."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (LRS_PACKAGE_DIR / "dist" / "index.js").exists():
        return (
            f"xapi-statements is not installed in {LRS_PACKAGE_DIR} (run dev.py test)"
        )
    return None


class LocalLrs:
    """One xapi-statements process; ``stop``/``start`` keep the same port."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def endpoint(self) -> str:
        return f"{self.root}/xAPI/"

    def start(self, timeout_s: float = 30.0) -> None:
        if self.process is not None:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = dict(
            os.environ,
            MODELS_REPO="memory",
            STORAGE_REPO="local",
            AUTH_REPO="test",
            EVENTS_REPO="test",
            EXPRESS_PORT=str(self.port),
            FS_LOCAL_STORAGE_DIR=str(self.data_dir),
            WINSTON_CONSOLE_LEVEL="warn",
        )
        self.process = subprocess.Popen(  # noqa: S603 - fixed command
            ["node", "dist/index.js"],  # noqa: S607
            cwd=LRS_PACKAGE_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until_ready(
                self.process,
                lambda: (
                    requests.get(self.endpoint + "about", timeout=1).status_code == 200
                ),
                what="LRS",
                timeout_s=timeout_s,
            )
        except RuntimeError:
            self.stop()
            raise

    def stop(self) -> None:
        if self.process is None:
            return
        stop_process(self.process)
        self.process = None


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target; ``cut`` refuses and drops connections."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.connections = 0
        # When set, requests still reach the LRS but its answers are thrown away:
        # the statement is stored, the sender never hears so (the hardest outage).
        self.drop_responses = False

    def endpoint(self, path: str = "/xAPI/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        self._thread = threading.Thread(
            target=self._accept, args=(listener,), daemon=True
        )
        self._thread.start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            self.connections += 1
            with self._lock:
                self._sockets.update((client, upstream))
            for a, b, answers in ((client, upstream, False), (upstream, client, True)):
                threading.Thread(
                    target=self._pipe, args=(a, b, answers), daemon=True
                ).start()

    def _pipe(
        self, source: socket.socket, target: socket.socket, answers: bool
    ) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if answers and self.drop_responses:
                    break
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                with self._lock:
                    self._sockets.discard(sock)
                sock.close()

    def cut(self) -> None:
        """Stop listening and reset every open connection (an outage)."""
        if self._listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone would not.
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            sockets = list(self._sockets)
            self._sockets.clear()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def restore(self) -> None:
        if self._listener is None:
            self.start()


@pytest.fixture
def lrs(tmp_path: Path) -> Iterator[LocalLrs]:
    """A fresh, empty, strict LRS (skips locally / fails in CI when not installed)."""
    reason = lrs_available()
    if reason is not None:
        require_service("LRS (xapi-statements)", reason)
    server = LocalLrs(tmp_path / "lrs-storage")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def lrs_proxy(lrs: LocalLrs) -> Iterator[TcpProxy]:
    """A cuttable network path to the ``lrs`` fixture."""
    proxy = TcpProxy(lrs.port)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.cut()
