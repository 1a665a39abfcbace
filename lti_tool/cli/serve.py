"""Entry point commands: `pathwise serve|worker|scheduler`, the processes of an install."""

from __future__ import annotations

import os
from typing import Any

import click
from gunicorn.app.base import BaseApplication
from rq import SimpleWorker, Worker
from rq.cron import CronScheduler

from lti_tool.cli.bootstrap import build_app, load_settings, start_runtime
from lti_tool.infra.queue import ALL_QUEUES, job_queue
from lti_tool.worker import register_periodic_jobs


@click.command("serve")
@click.option("--host", default="0.0.0.0", show_default=True)  # noqa: S104 - a server binds all
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--workers", default=0, type=int, help="Processes (default: 2 x cores + 1)."
)
@click.option("--threads", default=4, show_default=True, type=int)
@click.option(
    "--certfile",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Serve https directly with this PEM certificate (no TLS proxy in front).",
)
@click.option(
    "--keyfile",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="The certificate's PEM private key (with --certfile).",
)
def serve_command(
    host: str,
    port: int,
    workers: int,
    threads: int,
    certfile: str | None,
    keyfile: str | None,
) -> None:
    """Serve the LTI tool with gunicorn (production)."""
    if (certfile is None) != (keyfile is None):
        raise click.ClickException("--certfile and --keyfile go together.")
    settings = load_settings()
    if settings.open_local_registration:
        # A served install is reachable by others: every Dynamic Registration
        # needs an admin's invitation here, whatever the environment.
        raise click.ClickException(
            "PATHWISE_DR_WITHOUT_INVITATION is for `pathwise demo` only; "
            "`pathwise serve` always requires registration invitations."
        )

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers or (2 * (os.cpu_count() or 1) + 1))
            self.cfg.set("threads", threads)
            self.cfg.set("accesslog", "-")
            if certfile and keyfile:
                self.cfg.set("certfile", certfile)
                self.cfg.set("keyfile", keyfile)
            self.cfg.set(
                "forwarded_allow_ips",
                os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
            )

        def load(self) -> Any:
            return build_app(settings)

    _Server().run()


@click.command("worker")
@click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
@click.option(
    "--queue", "queues", multiple=True, help="Queues to serve (default: all)."
)
@click.option(
    "--fork",
    is_flag=True,
    help="Run each job in a forked child (isolation, at a fork and new connections per job).",
)
def worker_command(burst: bool, queues: tuple[str, ...], fork: bool) -> None:
    """Run an RQ worker for background jobs (outbox delivery, LRS sync, model fitting).

    Jobs run in the worker's own process by default: they are short outbox
    deliveries and syncs that keep their database pool and LMS token cache warm,
    where a fork per job cost more CPU than the job itself (`bench/learner.py`).
    ``--fork`` restores RQ's work horse per job for isolation from a leaky job.
    """
    settings = start_runtime()
    if settings.redis_url is None:
        raise click.ClickException(
            "REDIS_URL is not set: embedded mode runs jobs in-process."
        )
    worker_class = Worker if fork else SimpleWorker
    worker = worker_class(list(queues or ALL_QUEUES), connection=job_queue.connection)
    worker.work(burst=burst, with_scheduler=True)


@click.command("scheduler")
def scheduler_command() -> None:
    """Enqueue periodic jobs (outbox retries, LRS sync, model refits, key pruning)."""
    settings = start_runtime()
    if settings.redis_url is None:
        raise click.ClickException("REDIS_URL is not set: the scheduler needs Redis.")
    if job_queue.connection is None:
        raise click.ClickException("Redis is not connected.")
    scheduler = CronScheduler(connection=job_queue.connection)
    register_periodic_jobs(scheduler)
    scheduler.start()  # type: ignore[no-untyped-call]
