"""Smoke: the people import bench runs in --quick mode and prints its figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_people_import_bench_reports_rates_and_a_ratio() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "people_import.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=ROOT,
    )
    figures = dict(line.split(": ", 1) for line in done.stdout.splitlines())
    assert figures["people_import_rows"] == "500 rows"
    for name in ("people_import_rows_per_s", "people_bulk_insert_baseline_rows_per_s"):
        assert figures[name].endswith(" rows/s")
        assert float(figures[name].split()[0]) > 0
    assert float(figures["people_import_to_baseline_ratio"]) > 0
