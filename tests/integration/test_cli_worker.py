"""`pathwise worker`: jobs run in the worker's own process unless ``--fork`` is given."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner
from redis import Redis
from rq import Queue
from sqlalchemy import Engine

from lti_tool.cli import main
from lti_tool.infra.config import Settings
from lti_tool.infra.db import db
from lti_tool.infra.queue import QUEUE_DEFAULT, job_queue


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
    env = {
        "PATHWISE_ENV": "test",
        "DATABASE_URL": settings.database_url,
        "PATHWISE_SECRET_KEY": settings.secret_key,
        "PATHWISE_ENCRYPTION_KEY": ",".join(settings.encryption_keys),
        "PATHWISE_DATA_DIR": str(settings.data_dir),
        "REDIS_URL": redis_url,
    }
    try:
        result = CliRunner().invoke(
            main, ["worker", "--burst", "--queue", QUEUE_DEFAULT, *flags], env=env
        )
    finally:
        job_queue.configure(None)
        db.configure(settings.database_url, engine=engine)
    assert result.exit_code == 0, result.output
    assert job.get_status(refresh=True) == "finished"
    assert (job.return_value() == os.getpid()) is same_process
    connection.close()
