"""Smoke test: bench/item_fit.py --quick runs and reports every figure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_item_fit_bench_quick_reports_figures() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "item_fit.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    figures = {}
    for line in done.stdout.splitlines():
        name, _, value = line.partition(": ")
        figures[name] = value.split()[0]
    for n in (50, 200):
        fitted = float(figures[f"item_fit.n{n}.difficulty_mae_fitted"])
        authored = float(figures[f"item_fit.n{n}.difficulty_mae_authored"])
        ratio = float(figures[f"item_fit.n{n}.error_ratio_authored_to_fitted"])
        assert fitted > 0 and authored > 0
        assert abs(ratio - authored / fitted) < 1e-3
    assert figures["item_fit.answers"] == "20000"
    assert float(figures["item_fit.fit_seconds"]) > 0
