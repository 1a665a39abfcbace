"""`pathwise worker`: jobs run in the worker's own process unless ``--fork`` is given."""

from __future__ import annotations

import os

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import Engine

from lti_tool.infra.config import Settings
from lti_tool.infra.queue import QUEUE_DEFAULT
from tests.admin_support import run_cli


@pytest.mark.parametrize(("flags", "same_process"), [([], True), (["--fork"], False)])
def test_worker_runs_jobs_in_process_by_default(
    settings: Settings,
    engine: Engine,
    redis_url: str,
    flags: list[str],
    same_process: bool,
) -> None:
    connection = Redis.from_url(redis_url)
    job = Queue(QUEUE_DEFAULT, connection=connection).enqueue(os.getpid)
    result = run_cli(
        settings,
        engine,
        ["worker", "--burst", "--queue", QUEUE_DEFAULT, *flags],
        redis_url=redis_url,
    )
    assert result.exit_code == 0, result.output
    assert job.get_status(refresh=True) == "finished"
    assert (job.return_value() == os.getpid()) is same_process
    connection.close()
