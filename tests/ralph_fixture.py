"""A second, lenient LRS for tests: Ralph (``ralph-malph``) on a file, on loopback.

Ralph lives in its own venv (``dev.py`` installs it in ``.cache/ralph``) because its
pins are not ours; ``tests/ralph_server.py`` runs it there. It has no ``/about``,
answers 401 to bad credentials and pages with ``more``, so it exercises what the
strict xapi-statements LRS (``tests/lrs_fixture.py``) does not.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support_env import require_service
from tests.support_http import free_port, stop_process, wait_until_ready

ROOT = Path(__file__).resolve().parent.parent
RALPH_DIR = Path(
    os.environ.get("PATHWISE_TEST_RALPH_DIR", str(ROOT / ".cache" / "ralph"))
)
RALPH_PYTHON = RALPH_DIR / "venv" / "bin" / "python"
USERNAME = "pathwise"
PASSWORD = "ralph-test-secret"


def ralph_available() -> str | None:
    """None when Ralph can run here, else the reason it cannot."""
    if not RALPH_PYTHON.exists():
        return f"Ralph is not installed in {RALPH_DIR} (run dev.py test)"
    return None


class LocalRalph:
    """One Ralph process storing statements in a file under ``data_dir``."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.username = USERNAME
        self.password = PASSWORD

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def endpoint(self) -> str:
        return f"{self.root}/xAPI/"

    def start(self, timeout_s: float = 60.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        auth_file = self.data_dir / "auth.json"
        env = dict(
            os.environ,
            RALPH_AUTH_FILE=str(auth_file),
            RALPH_RUNSERVER_BACKEND="fs",
            RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH=str(self.data_dir),
            RALPH_APP_DIR=str(self.data_dir),
        )
        self.process = subprocess.Popen(  # noqa: S603 - fixed command
            [
                str(RALPH_PYTHON),
                str(ROOT / "tests" / "ralph_server.py"),
                "--port",
                str(self.port),
                "--auth-file",
                str(auth_file),
                "--username",
                self.username,
                "--password",
                self.password,
            ],
            # Ralph reads a .env from its working directory: give it an empty one.
            cwd=self.data_dir,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until_ready(
                self.process,
                lambda: (
                    requests.get(self.root + "/__heartbeat__", timeout=1).status_code
                    == 200
                ),
                what="Ralph",
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


@pytest.fixture
def ralph(tmp_path: Path) -> Iterator[LocalRalph]:
    """A fresh, empty Ralph LRS (skips locally / fails in CI when not installed)."""
    reason = ralph_available()
    if reason is not None:
        require_service("LRS (Ralph)", reason)
    server = LocalRalph(tmp_path / "ralph")
    server.start()
    try:
        yield server
    finally:
        server.stop()
