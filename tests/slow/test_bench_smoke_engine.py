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
    for name in ("update", "next_step_role200", "next_step_all1000"):
        for q in ("p50", "p95", "p99"):
            assert figures[f"{name}_{q}"].endswith(" ms")
    assert float(figures["next_step_role200_p99"].split()[0]) > 0
    assert "load_average_1min_at_start" in figures


@pytest.mark.slow
def test_simulation_bench_reports_both_arms() -> None:
    figures = run_bench("simulate.py")
    for group in ("novices", "intermediates", "experts", "overall"):
        for arm in ("linear", "adaptive"):
            assert f"{group}_minutes_median_{arm}" in figures
            assert f"{group}_minutes_p90_{arm}" in figures
            share = float(figures[f"{group}_share_reaching_targets_{arm}"].split()[0])
            assert 0.0 <= share <= 1.0
            assert f"{group}_true_mastery_30d_{arm}" in figures
        assert figures[f"{group}_speedup_restricted_mean"].endswith(" x")
    for name in ("experts_speedup", "novices_speedup", "overall_median_speedup"):
        assert figures[name].endswith(" x")
