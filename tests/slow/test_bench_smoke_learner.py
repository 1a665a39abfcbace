"""Smoke: bench/learner.py runs end to end in a tiny configuration and prints its figures.

Real parts, as in the full run: gunicorn, PostgreSQL (a database of its own, dropped
after), Redis with an RQ worker, and the development LMS receiving the grades.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]


def test_learner_bench_measures_both_sides_and_writes_grades_back(
    postgres_url: str, redis_url: str
) -> None:
    database = urlparse(postgres_url).path.lstrip("/") + "_bench_learner"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "learner.py"),
            "--learners",
            "3",
            "--seconds",
            "2",
            "--warmup",
            "1",
            "--rounds",
            "1",
            "--search-steps",
            "1",
            "--step-seconds",
            "2",
            "--workers",
            "2",
            "--database",
            database,
            "--redis-url",
            redis_url,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = dict(
        line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line
    )
    for name in ("answer_p50", "answer_p99", "bare_p50", "bare_p99"):
        value, unit = figures[name].split()
        assert float(value) > 0 and unit == "ms", name
    assert figures["answer_errors"] == "0 requests"
    assert figures["bare_errors"] == "0 requests"
    # 3 learners x 1 answer/s x 2 s on each side.
    assert figures["answer_requests"] == "6 requests"
    assert float(figures["answer_p99_vs_bare"].split()[0]) > 0
    assert figures["answer_max_rate_p99_under_100ms"].endswith(" /s")
    # The write-backs happened: statements queued, grades delivered to the LMS.
    assert int(figures["xapi_outbox_statements"].split()[0]) > 0
    assert int(figures["lms_scores_received"].split()[0]) >= 3
    assert int(figures["grades_sent_rows"].split()[0]) == 3
    assert "launched 3/3 learners" in result.stderr
