"""Smoke test: bench/model_fit.py --quick runs and reports every figure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_model_fit_bench_quick_reports_figures() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "model_fit.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    figures = {}
    for line in done.stdout.splitlines():
        if line.startswith("#"):
            continue
        name, _, value = line.partition(": ")
        figures[name] = value.split()[0]
    for name in ("auc_pathwise", "auc_pathwise_bkt", "auc_pfa", "fit_seconds_pathwise"):
        assert name in figures
    assert 0.5 < float(figures["auc_pathwise"]) <= 1.0
    assert float(figures["engine_max_abs_diff"]) < 1e-9
    # pyBKT either reported or skipped with a message
    assert "auc_pybkt" in figures or "pyBKT column skipped" in done.stdout
