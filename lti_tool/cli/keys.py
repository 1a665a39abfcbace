"""Entry point commands: `pathwise keys ...`, signing keys and the secrets' encryption key."""

from __future__ import annotations

import click
from cryptography.fernet import Fernet
from sqlalchemy import select

from admin.actions import install_actor, rotate_key
from lti_tool.cli.bootstrap import cli_actor, start_runtime
from lti_tool.infra.audit import record_audit
from lti_tool.infra.db import session_scope
from lti_tool.infra.models import ToolKey
from lti_tool.usecases.secrets import reencrypt_secrets


@click.group("keys")
def keys_group() -> None:
    """Tool signing keys and the encryption key for secrets at rest."""


@keys_group.command("rotate")
def keys_rotate() -> None:
    """Start signing with a new key; old keys stay in JWKS for the grace period."""
    settings = start_runtime()
    with session_scope() as session:
        key = rotate_key(
            session,
            actor=install_actor(cli_actor()),
            grace_days=settings.key_rotation_grace_days,
        )
        click.echo(
            f"New signing key {key.kid}; previous keys stay published for "
            f"{settings.key_rotation_grace_days} days."
        )


@keys_group.command("list")
def keys_list() -> None:
    start_runtime()
    with session_scope() as session:
        for key in session.scalars(select(ToolKey).order_by(ToolKey.created_at)):
            status = (
                "active"
                if key.superseded_at is None
                else f"retires {key.retire_after:%Y-%m-%d}"
            )
            click.echo(f"{key.kid}\t{key.created_at:%Y-%m-%d %H:%M}\t{status}")


def _progress(what: str, done: int, total: int) -> None:
    click.echo(f"\r{what}: {done}/{total}", nl=done == total)


@keys_group.command("reencrypt")
def keys_reencrypt() -> None:
    """Re-encrypt every stored secret under the first PATHWISE_ENCRYPTION_KEY."""
    start_runtime()
    try:
        with session_scope() as session:
            report = reencrypt_secrets(session, progress=_progress)
            record_audit(
                session,
                actor=cli_actor(),
                action="keys.reencrypted",
                target="secrets",
                details={
                    "signing_keys": report.signing_keys,
                    "lrs_secrets": report.lrs_secrets,
                },
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
