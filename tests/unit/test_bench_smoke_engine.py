"""Smoke: the engine benches run end to end in --quick mode and print their figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_bench(name: str) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / name), "--quick"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=ROOT,
    )
    figures = {}
    for line in done.stdout.splitlines():
        key, _, value = line.partition(": ")
        figures[key] = value
    return figures


@pytest.mark.slow
def test_engine_bench_reports_latencies() -> None:
    figures = run_bench("engine.py")
    assert figures["catalog_skills"] == "1000 skills"
    assert figures["update_p99"].endswith(" ms")
    assert float(figures["next_step_role200_p99"].split()[0]) > 0


@pytest.mark.slow
def test_simulation_bench_reports_both_arms() -> None:
    figures = run_bench("simulate.py")
    for group in ("novice", "intermediate", "expert", "overall"):
        assert f"{group}_linear_median_minutes_to_targets" in figures
        assert f"{group}_adaptive_share_reaching_targets" in figures
        assert f"{group}_speedup_median" in figures
