"""Test support: real loopback ports, a WSGI app served on one in a thread (for peers the
code under test calls), and waiting for and stopping a server in another process."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from werkzeug.serving import make_server


def free_port() -> int:
    """A loopback port free right now (for servers started in another process)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve_in_thread(app: Any) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def wait_until_ready(
    process: subprocess.Popen[bytes],
    ready: Callable[[], bool],
    *,
    what: str,
    timeout_s: float = 30.0,
    interval_s: float = 0.1,
    log: Path | None = None,
) -> None:
    """Poll ``ready`` (an HTTP probe) until it is true.

    Raises RuntimeError, with the process's log when there is one, if the process
    exits or ``timeout_s`` passes first; a probe that fails at the HTTP level (not
    listening yet, or too slow on a loaded machine) is only tried again.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if ready():
                return
        except requests.RequestException:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            code = process.poll()
            detail = (
                f"exited with {code}" if code is not None else "did not become ready"
            )
            if log is not None:
                detail += ":\n" + log.read_text()
            raise RuntimeError(f"{what} {detail}")
        time.sleep(interval_s)


def stop_process(process: subprocess.Popen[bytes], *, timeout_s: float = 10.0) -> None:
    """Terminate a server process, killing it if it does not stop in time."""
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout_s)
