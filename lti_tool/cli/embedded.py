"""Entry point commands: `pathwise init` and `pathwise demo`, the embedded installs."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import click
from werkzeug.serving import run_simple

from adaptive.demo_seed import seed_demo
from admin.users import create_admin_user, find_admin_user
from lti_tool.cli.bootstrap import build_app, start_runtime
from lti_tool.cli.db import upgrade_database
from lti_tool.infra.config import Settings, default_data_dir, ensure_embedded_secrets
from lti_tool.infra.db import session_scope
from lti_tool.lti.dev_registration import ensure_dev_registration


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
    # A local LMS may register without an invitation, from loopback only
    # (lti_tool.lti.dynamic_registration.authorise_registration).
    os.environ.setdefault("PATHWISE_DR_WITHOUT_INVITATION", "1")
    settings = start_runtime()
    click.echo("Preparing the database...")
    upgrade_database(settings)
    password = seed_demo_install(settings)
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
    run_simple(host, port, app, threaded=True, use_reloader=False)


def seed_demo_install(settings: Settings) -> str:
    """Load the demo catalogue, register the development LMS, create the demo admin.

    Returns:
        The demo admin's password (kept in the data folder, so reruns show the same).
    """
    password_file = settings.data_dir / "demo-admin-password.txt"
    with session_scope() as session:
        summary = seed_demo(session)
        click.echo(f"Demo catalogue: {summary}")
        ensure_dev_registration(session, settings)
        if find_admin_user(session, "admin") is None or not password_file.exists():
            password = secrets.token_urlsafe(12)
            create_admin_user(
                session, username="admin", password=password, role="admin", replace=True
            )
            password_file.write_text(password, encoding="utf-8")
            password_file.chmod(0o600)
    return password_file.read_text(encoding="utf-8").strip()
