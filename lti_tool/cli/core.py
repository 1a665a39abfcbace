"""Entry point commands: init, demo, serve, worker, scheduler, db, platform, keys, admin users."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from typing import Any

import click
from cryptography.fernet import Fernet
from sqlalchemy import select

from lti_tool.cli.bootstrap import build_app, load_settings, start_runtime
from lti_tool.infra.config import (
    Settings,
    default_data_dir,
    ensure_embedded_secrets,
)


def upgrade_database(settings: Settings) -> None:
    """Bring the schema to the newest Alembic revision (SQLite or Postgres)."""
    import logging

    from alembic import command

    from lti_tool.infra.migrations import alembic_config

    logging.getLogger("alembic").setLevel(logging.WARNING)
    if settings.uses_sqlite:
        Path(settings.database_url.removeprefix("sqlite:///")).parent.mkdir(
            parents=True, exist_ok=True
        )
    command.upgrade(alembic_config(settings.database_url), "head")
    from lti_tool.infra.db import db, session_scope
    from lti_tool.lti.keys import active_keys, create_signing_key

    # The first signing key is made here, once, rather than by racing first launches.
    db.configure(settings.database_url)
    with session_scope() as session:
        if not active_keys(session):
            create_signing_key(session)


@click.command("init")
def init_command() -> None:
    """Create the embedded install: data folder, secret keys, database schema."""
    if os.environ.get("PATHWISE_ENV", "development") == "production":
        raise click.ClickException(
            "`pathwise init` is for embedded installs; use `db upgrade`."
        )
    data_dir = Path(os.environ.get("PATHWISE_DATA_DIR") or default_data_dir())
    ensure_embedded_secrets(data_dir)
    settings = start_runtime()
    upgrade_database(settings)
    click.echo(f"Embedded install ready in {data_dir}")


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def demo_command(host: str, port: int) -> None:
    """Run Pathwise with demo content and a development LMS (SQLite, in-process jobs)."""
    if os.environ.get("PATHWISE_ENV") == "production":
        raise click.ClickException(
            "The demo and its development LMS are refused in production."
        )
    data_dir = Path(os.environ.get("PATHWISE_DATA_DIR") or default_data_dir())
    ensure_embedded_secrets(data_dir)
    os.environ.setdefault("PATHWISE_BASE_URL", f"http://{host}:{port}")
    os.environ["PATHWISE_DEV_PLATFORM"] = "1"
    settings = start_runtime()
    click.echo("Preparing the database...")
    upgrade_database(settings)
    password = _seed_demo(settings)
    app = build_app(settings)
    click.echo("")
    click.echo(f"Pathwise demo running at {settings.base_url}/")
    click.echo(
        f"  Development LMS (launch as a learner or instructor): {settings.base_url}/dev-platform/"
    )
    click.echo(
        f"  Admin console: {settings.base_url}/admin/  (user: admin, password: {password})"
    )
    click.echo("Press Ctrl+C to stop.")
    from werkzeug.serving import run_simple

    run_simple(host, port, app, threaded=True, use_reloader=False)


def _seed_demo(settings: Settings) -> str:
    """Load the demo catalogue, register the development LMS, create the demo admin."""
    from lti_tool.infra.db import session_scope

    password_file = settings.data_dir / "demo-admin-password.txt"
    with session_scope() as session:
        from adaptive.demo_seed import seed_demo

        summary = seed_demo(session)
        click.echo(f"Demo catalogue: {summary}")
        from lti_tool.devplatform.platform import ensure_dev_registration

        ensure_dev_registration(session, settings)
        from admin.users import create_admin_user, find_admin_user

        if find_admin_user(session, "admin") is None or not password_file.exists():
            password = secrets.token_urlsafe(12)
            create_admin_user(
                session, username="admin", password=password, role="admin", replace=True
            )
            password_file.write_text(password, encoding="utf-8")
            password_file.chmod(0o600)
    return password_file.read_text(encoding="utf-8").strip()


@click.command("serve")
@click.option("--host", default="0.0.0.0", show_default=True)  # noqa: S104 - a server binds all
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--workers", default=0, type=int, help="Processes (default: 2 x cores + 1)."
)
@click.option("--threads", default=4, show_default=True, type=int)
def serve_command(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the LTI tool with gunicorn (production)."""
    settings = load_settings()
    from gunicorn.app.base import BaseApplication

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers or (2 * (os.cpu_count() or 1) + 1))
            self.cfg.set("threads", threads)
            self.cfg.set("accesslog", "-")
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
def worker_command(burst: bool, queues: tuple[str, ...]) -> None:
    """Run an RQ worker for background jobs (outbox delivery, LRS sync, model fitting)."""
    settings = start_runtime()
    if settings.redis_url is None:
        raise click.ClickException(
            "REDIS_URL is not set: embedded mode runs jobs in-process."
        )
    from rq import Worker

    from lti_tool.infra.queue import ALL_QUEUES, job_queue

    worker = Worker(list(queues or ALL_QUEUES), connection=job_queue.connection)
    worker.work(burst=burst, with_scheduler=True)


@click.command("scheduler")
def scheduler_command() -> None:
    """Enqueue periodic jobs (outbox retries, LRS sync, model refits, key pruning)."""
    settings = start_runtime()
    if settings.redis_url is None:
        raise click.ClickException("REDIS_URL is not set: the scheduler needs Redis.")
    from rq.cron import CronScheduler

    from lti_tool.infra.queue import job_queue
    from lti_tool.worker import register_periodic_jobs

    if job_queue.connection is None:
        raise click.ClickException("Redis is not connected.")
    scheduler = CronScheduler(connection=job_queue.connection)
    register_periodic_jobs(scheduler)
    scheduler.start()  # type: ignore[no-untyped-call]


@click.group("db")
def db_group() -> None:
    """Database schema (Alembic migrations)."""


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations (and create the first signing key)."""
    settings = start_runtime()
    upgrade_database(settings)
    click.echo("Database is at the newest revision.")


@db_group.command("current")
def db_current() -> None:
    from alembic import command

    from lti_tool.infra.migrations import alembic_config

    command.current(alembic_config(load_settings().database_url))


@click.group("platform")
def platform_group() -> None:
    """LMS platform registrations."""


@platform_group.command("add")
@click.option("--issuer", required=True)
@click.option("--client-id", required=True)
@click.option("--deployment-id", "deployment_ids", multiple=True)
@click.option("--auth-login-url", required=True)
@click.option("--auth-token-url", required=True)
@click.option("--key-set-url", required=True)
@click.option("--auth-audience", default=None)
@click.option("--name", default="")
@click.option(
    "--platform",
    "platform_kind",
    type=click.Choice(["moodle", "canvas", "workday", "other"]),
)
@click.option(
    "--unknown-deployments",
    type=click.Choice(["reject", "auto_register"]),
    help="What to do when a launch names a deployment not registered yet.",
)
def platform_add(
    issuer: str,
    client_id: str,
    deployment_ids: tuple[str, ...],
    auth_login_url: str,
    auth_token_url: str,
    key_set_url: str,
    auth_audience: str | None,
    name: str,
    platform_kind: str | None,
    unknown_deployments: str | None,
) -> None:
    """Register an LMS by hand (the values from its LTI 1.3 tool registration)."""
    start_runtime()
    from lti_tool.infra.db import session_scope
    from lti_tool.lti.registration import (
        RegistrationFailed,
        add_deployment,
        add_registration,
    )

    try:
        with session_scope() as session:
            registration = add_registration(
                session,
                issuer=issuer,
                client_id=client_id,
                auth_login_url=auth_login_url,
                auth_token_url=auth_token_url,
                key_set_url=key_set_url,
                auth_audience=auth_audience,
                name=name,
                platform_kind=platform_kind,
                unknown_deployment_policy=unknown_deployments,
                actor=f"cli:{os.environ.get('USER', 'unknown')}",
            )
            for deployment_id in deployment_ids:
                add_deployment(
                    session, registration=registration, deployment_id=deployment_id
                )
            click.echo(
                f"Registered {issuer} client {client_id} (id {registration.id}); "
                f"deployments: {', '.join(deployment_ids) or 'none yet'}"
            )
    except RegistrationFailed as exc:
        raise click.ClickException(str(exc)) from None


@platform_group.command("list")
def platform_list() -> None:
    start_runtime()
    from lti_tool.infra.db import session_scope
    from lti_tool.lti.registration import list_registrations

    with session_scope() as session:
        for reg in list_registrations(session):
            deployments = ", ".join(d.deployment_id for d in reg.deployments) or "-"
            click.echo(
                f"{reg.id}\t{reg.platform_kind}\t{reg.issuer}\t{reg.client_id}\t"
                f"deployments: {deployments}\tunknown deployments: {reg.unknown_deployment_policy}"
            )


@click.group("keys")
def keys_group() -> None:
    """Tool signing keys and the encryption key for secrets at rest."""


@keys_group.command("rotate")
def keys_rotate() -> None:
    """Start signing with a new key; old keys stay in JWKS for the grace period."""
    settings = start_runtime()
    from lti_tool.infra.db import session_scope
    from lti_tool.infra.models import AuditEntry
    from lti_tool.lti.keys import rotate_signing_key

    with session_scope() as session:
        key = rotate_signing_key(session, grace_days=settings.key_rotation_grace_days)
        session.add(
            AuditEntry(
                actor=f"cli:{os.environ.get('USER', 'unknown')}",
                action="keys.rotated",
                target=key.kid,
            )
        )
        click.echo(
            f"New signing key {key.kid}; previous keys stay published for "
            f"{settings.key_rotation_grace_days} days."
        )


@keys_group.command("list")
def keys_list() -> None:
    start_runtime()
    from lti_tool.infra.db import session_scope
    from lti_tool.infra.models import ToolKey

    with session_scope() as session:
        for key in session.scalars(select(ToolKey).order_by(ToolKey.created_at)):
            status = (
                "active"
                if key.superseded_at is None
                else f"retires {key.retire_after:%Y-%m-%d}"
            )
            click.echo(f"{key.kid}\t{key.created_at:%Y-%m-%d %H:%M}\t{status}")


@keys_group.command("reencrypt")
def keys_reencrypt() -> None:
    """Re-encrypt every stored secret under the first PATHWISE_ENCRYPTION_KEY."""
    start_runtime()
    from lti_tool.infra.db import session_scope
    from lti_tool.infra.models import AuditEntry
    from lti_tool.lti.keys import reencrypt_secrets

    def progress(what: str, done: int, total: int) -> None:
        click.echo(f"\r{what}: {done}/{total}", nl=done == total)

    try:
        with session_scope() as session:
            report = reencrypt_secrets(session, progress=progress)
            session.add(
                AuditEntry(
                    actor=f"cli:{os.environ.get('USER', 'unknown')}",
                    action="keys.reencrypted",
                    target="secrets",
                    details={
                        "signing_keys": report.signing_keys,
                        "lrs_secrets": report.lrs_secrets,
                    },
                )
            )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"Re-encrypted {report.signing_keys} signing keys and {report.lrs_secrets} LRS "
        "secrets under the first PATHWISE_ENCRYPTION_KEY; the other keys can be removed."
    )


@keys_group.command("generate-encryption-key")
def keys_generate_encryption_key() -> None:
    """Print a new Fernet key for PATHWISE_ENCRYPTION_KEY."""
    click.echo(Fernet.generate_key().decode("ascii"))


@click.group("admin")
def admin_group() -> None:
    """Console accounts."""


@admin_group.command("create-user")
@click.argument("username")
@click.option(
    "--role", type=click.Choice(["admin", "author"]), default="admin", show_default=True
)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def admin_create_user(username: str, role: str, password: str) -> None:
    start_runtime()
    from admin.users import AdminUserError, create_admin_user
    from lti_tool.infra.db import session_scope

    try:
        with session_scope() as session:
            create_admin_user(session, username=username, password=password, role=role)
    except AdminUserError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Created {role} {username}.")


def register(main: click.Group) -> None:
    for command in (
        init_command,
        demo_command,
        serve_command,
        worker_command,
        scheduler_command,
        db_group,
        platform_group,
        keys_group,
        admin_group,
    ):
        main.add_command(command)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run `pathwise`")
