"""Smoke test: bench/ingest.py --quick runs end to end and prints its figures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lrs_fixture import lrs_available
from tests.support_env import require_service

pytestmark = [pytest.mark.lrs, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def test_ingest_bench_quick(tmp_path: Path) -> None:
    reason = lrs_available()
    if reason is not None:
        require_service("LRS (xapi-statements)", reason)
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path / 'bench.sqlite'}")
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "ingest.py"), "--quick"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    figures = dict(
        line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line
    )
    for name in ("lrs_raw_paging_per_s", "sync_statements_per_s", "sync_to_raw_ratio"):
        value, unit = figures[name].split()
        assert float(value) > 0 and unit in {"/s", "x"}
    assert int(figures["evidence_rows"].split()[0]) > 0
