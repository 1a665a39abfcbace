"""Entry point commands: `pathwise platform add|list` (LMS registrations by hand)."""

from __future__ import annotations

import click

from lti_tool.cli.bootstrap import cli_actor, start_runtime
from lti_tool.infra.audit import record_audit
from lti_tool.infra.db import session_scope
from lti_tool.infra.models import Registration
from lti_tool.lti.registration import (
    RegistrationFailed,
    add_deployment,
    add_registration,
    install_values,
    list_registrations,
    make_invitation,
)


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
                actor=cli_actor(),
                # `platform add` on an existing one is the operator's explicit edit.
                allow_update=True,
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
    with session_scope() as session:
        for reg in list_registrations(session):
            deployments = ", ".join(d.deployment_id for d in reg.deployments) or "-"
            click.echo(
                f"{reg.id}\t{reg.platform_kind}\t{reg.issuer}\t{reg.client_id}\t"
                f"deployments: {deployments}\tunknown deployments: {reg.unknown_deployment_policy}"
            )


@platform_group.command("invite")
@click.option(
    "--registration",
    "registration_id",
    type=int,
    default=None,
    help="Let the platform of this registration (id from `platform list`) replace it.",
)
def platform_invite(registration_id: int | None) -> None:
    """Print a Dynamic Registration URL (an invitation valid for 7 days).

    Dynamic Registration never replaces an existing registration; with
    --registration the URL lets that registration's platform re-register over it.
    """
    settings = start_runtime()
    actor = cli_actor()
    with session_scope() as session:
        if registration_id is not None:
            registration = session.get(Registration, registration_id)
            if registration is None:
                raise click.ClickException(
                    f"No registration with id {registration_id}."
                )
        invite = make_invitation(
            settings, created_by=actor, registration_id=registration_id
        )
        record_audit(
            session,
            actor=actor,
            action="registration.invitation_created",
            target=f"registration:{registration_id}" if registration_id else "",
        )
    click.echo(install_values(settings, invite=invite).registration_url)
