"""Smoke: the launch bench runs end to end in --quick mode (SQLite, both servers)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_launch_bench_reports_both_sides_and_the_cpu_split() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "launch.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = dict(
        line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line
    )
    for name in (
        "launches_per_s",
        "launch_p99",
        "server_cpu_per_launch",
        "client_cpu_per_launch",
        "baseline_launches_per_s",
        "baseline_server_cpu_per_launch",
        "throughput_ratio_vs_pylti1p3",
    ):
        value, _unit = figures[name].split(" ", 1)
        assert float(value) > 0, name
    assert figures["launch_failures"] == "0 launches"
