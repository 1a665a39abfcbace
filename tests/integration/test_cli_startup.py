"""The CLI imports a command's module only when that command runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys
from click.testing import CliRunner
from lti_tool.cli import main
result = CliRunner().invoke(main, sys.argv[1:])
assert result.exit_code == 0, result.output
loaded = sorted(m for m in sys.modules if m == "flask" or m.startswith("lti_tool.cli."))
print(" ".join(loaded))
"""


def _loaded_by(*args: str) -> set[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def test_sync_starts_without_flask_or_other_commands() -> None:
    assert _loaded_by("sync", "--help") == {
        "lti_tool.cli.bootstrap",
        "lti_tool.cli.lrs",
    }


def test_catalogue_loads_only_its_own_module() -> None:
    assert _loaded_by("catalogue", "--help") == {
        "lti_tool.cli.bootstrap",
        "lti_tool.cli.catalogue",
    }
