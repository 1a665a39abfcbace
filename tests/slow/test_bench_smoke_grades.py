"""Smoke: the grades bench runs end to end in --quick mode and prints every figure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_grades_bench_reports_answer_cost_and_delivery() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "grades.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        cwd=ROOT,
    )
    figures = dict(
        line.split(": ", 1) for line in done.stdout.splitlines() if ": " in line
    )
    for name in (
        "answer_with_grade_p99",
        "baseline_answer_p99",
        "answer_grade_overhead_ratio_p50",
        "grade_delivery_rate",
    ):
        assert float(figures[name].split()[0]) > 0, name
    assert figures["grade_scores_sent"] == figures["grade_outbox_rows"].replace(
        "rows", "scores"
    )
    assert figures["grade_token_requests"] == "1 tokens"
    assert figures["grade_409_answers"] == "0 answers"
