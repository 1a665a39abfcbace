"""Smoke: the engine benches run end to end in --quick mode and print their figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_bench(name: str, timeout: float = 120) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / name), "--quick"],
        capture_output=True,
        text=True,
        timeout=timeout,
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
    for name in (
        "update",
        "next_step",
        "next_step_cpu",
        "next_step_all1000",
        "baseline_next_step_role200",
        "placement_step",
        "placement_step_cpu",
        "placement_answer",
        "baseline_placement_step",
    ):
        for q in ("p50", "p95", "p99"):
            assert figures[f"{name}_{q}"].endswith(" ms")
    assert float(figures["next_step_p99"].split()[0]) > 0
    for name in ("next_step_p99_ratio", "placement_step_p99_ratio"):
        assert figures[name].endswith(" ratio")
    # The vectorised placement choice is the per-probe loop's choice.
    assert figures["placement_choice_agreement"] == "1.00 ratio"
    assert "load_average_1min_at_start" in figures


@pytest.mark.slow
def test_simulation_bench_reports_both_populations_and_every_tutor() -> None:
    figures = run_bench("simulate.py", timeout=600)
    for population in ("bkt", "misspecified"):
        for group in ("novices", "intermediates", "experts", "all"):
            prefix = f"{population}.{group}"
            for name in ("reach_share", "false_done_share", "retention_30d"):
                value, unit = figures[f"{prefix}.{name}"].split()
                assert unit == "ratio"
                assert 0.0 <= float(value) <= 1.0
            for name in ("speedup_vs_linear", "oracle_speedup"):
                assert figures[f"{prefix}.{name}"].endswith(" x")
            assert figures[f"{prefix}.refresher_minutes"].endswith(" min")
            assert figures[f"{prefix}.median_minutes_to_done"].endswith(" min")
            for tutor in ("linear", "pathwise_before", "pathwise", "oracle"):
                assert f"{prefix}.{tutor}.reach_share" in figures
                assert f"{prefix}.{tutor}.false_done_share" in figures
        assert (
            float(figures[f"{population}.all.oracle.false_done_share"].split()[0]) == 0
        )
