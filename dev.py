#!/usr/bin/env python3
"""Set-up in one command on a fresh machine with only Python 3.11+.

    python3 dev.py demo    # install into .venv, start Pathwise (SQLite, in-process jobs, demo data)
    python3 dev.py test    # install dev tools, run linters and the whole test suite

The virtual environment is rebuilt only when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
STAMP = VENV / ".pathwise-installed"
LRS_DIR = ROOT / ".cache" / "lrs"
LRS_PACKAGE = "xapi-statements@5.0.1"
# A second, lenient LRS for the tests (tests/ralph_fixture.py), in its own venv: its
# pins are not ours. Every package it runs on is pinned in this file.
RALPH_DIR = ROOT / ".cache" / "ralph"
RALPH_REQUIREMENTS = ROOT / "tests" / "ralph_requirements.txt"


def say(message: str) -> None:
    sys.stderr.write(f"[dev] {message}\n")
    sys.stderr.flush()


def run(cmd: list[str], cwd: Path = ROOT) -> None:
    say(" ".join(str(c) for c in cmd))
    subprocess.run(cmd, check=True, cwd=cwd)


def ensure_venv(extras: str) -> None:
    if sys.version_info < (3, 11):
        sys.exit("Pathwise needs Python 3.11 or newer")
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest() + extras
    if STAMP.exists() and STAMP.read_text() == digest:
        return
    if not PY.exists():
        say("creating .venv")
        venv.EnvBuilder(with_pip=True).create(VENV)
    run([str(PY), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    target = f".[{extras}]" if extras else "."
    run([str(PY), "-m", "pip", "install", "--quiet", "-e", target])
    STAMP.write_text(digest)


def ensure_lrs() -> None:
    """Install Learning Locker's statement service (a real LRS) for the xAPI tests."""
    marker = LRS_DIR / "node_modules" / "xapi-statements" / "dist" / "index.js"
    if marker.exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        say("npm not found: LRS tests will skip locally (they fail under CI=true)")
        return
    LRS_DIR.mkdir(parents=True, exist_ok=True)
    if not (LRS_DIR / "package.json").exists():
        (LRS_DIR / "package.json").write_text(
            '{"name": "pathwise-test-lrs", "private": true}\n'
        )
    run(
        [npm, "install", "--silent", "--no-audit", "--no-fund", LRS_PACKAGE],
        cwd=LRS_DIR,
    )


def ensure_ralph() -> None:
    """Install Ralph (a real, lenient LRS) into .cache/ralph/venv for the xAPI tests."""
    python = RALPH_DIR / "venv" / ("Scripts" if os.name == "nt" else "bin") / "python"
    stamp = RALPH_DIR / ".installed"
    wanted = hashlib.sha256(RALPH_REQUIREMENTS.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == wanted and python.exists():
        return
    say("installing Ralph (a second test LRS) in .cache/ralph")
    venv.EnvBuilder(with_pip=True, clear=True).create(RALPH_DIR / "venv")
    run([str(python), "-m", "pip", "install", "--quiet", "-r", str(RALPH_REQUIREMENTS)])
    stamp.write_text(wanted)


def demo(args: list[str]) -> None:
    ensure_venv("")
    os.execv(str(BIN / "pathwise"), [str(BIN / "pathwise"), "demo", *args])


def test(args: list[str]) -> None:
    ensure_venv("dev")
    ensure_lrs()
    ensure_ralph()
    if not args:
        run([str(BIN / "ruff"), "check", "."])
        run([str(BIN / "ruff"), "format", "--check", "."])
        run([str(BIN / "mypy")])
        run([str(BIN / "lint-imports")])
    os.execv(str(PY), [str(PY), "-m", "pytest", *args])


def main() -> None:
    commands = {"demo": demo, "test": test}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
