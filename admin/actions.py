"""Admin console (service): actions that change the install, and who may take them.

Console views and CLI commands both come through here, so the rule is the same for
both: signing keys and registration invitations are install-wide and need an install
admin (role ``admin``, bound to no tenant); a tenant-bound admin may only change a
registration that serves their tenant alone. The CLI acts as an install admin (it
runs with the operator's shell access).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_tool.infra.audit import record_audit
from lti_tool.infra.config import Settings
from lti_tool.infra.models import (
    UNKNOWN_DEPLOYMENT_AUTO,
    Deployment,
    Registration,
    ToolKey,
)
from lti_tool.infra.tenancy import console_is_install_wide
from lti_tool.lti.keys import rotate_signing_key
from lti_tool.lti.registration import add_registration, make_invitation


@dataclass(frozen=True)
class ConsoleActor:
    """Who acts: the audit name, the console role and the tenant scope."""

    name: str
    role: str
    tenant_id: int | None

    @property
    def is_install_admin(self) -> bool:
        return self.role == "admin" and console_is_install_wide(self.tenant_id)


def install_actor(name: str) -> ConsoleActor:
    """The actor of CLI commands: install-wide, like the operator who runs them."""
    return ConsoleActor(name=name, role="admin", tenant_id=None)


class ConsoleForbidden(Exception):
    """An action outside the actor's scope; ``message`` is shown to them."""

    def __init__(self, action: str, message: str) -> None:
        super().__init__(message)
        self.action = action
        self.message = message


def require_install_admin(actor: ConsoleActor, action: str) -> None:
    """Refuse ``action`` unless ``actor`` is an install admin."""
    if not actor.is_install_admin:
        raise ConsoleForbidden(
            action,
            "Only an install-wide console admin can do this: your account is bound "
            "to one tenant.",
        )


def rotate_key(session: Session, *, actor: ConsoleActor, grace_days: int) -> ToolKey:
    """Start signing with a new key (install-wide: every tenant's launches); audited."""
    require_install_admin(actor, "keys.rotate")
    key = rotate_signing_key(session, grace_days=grace_days)
    record_audit(session, actor=actor.name, action="keys.rotated", target=key.kid)
    return key


def create_invitation(
    session: Session, settings: Settings, *, actor: ConsoleActor
) -> str:
    """A Dynamic Registration invitation (it can add any platform); audited."""
    require_install_admin(actor, "registration.invitation")
    invite = make_invitation(settings, created_by=actor.name)
    record_audit(session, actor=actor.name, action="registration.invitation_created")
    return invite


def _check_registration_scope(
    session: Session,
    actor: ConsoleActor,
    *,
    issuer: str,
    client_id: str,
    deployment_id: str | None,
    unknown_deployment_policy: str | None,
) -> None:
    """A tenant-bound admin may only change the registration of their tenant alone.

    A registration shared with another deployment is not theirs: its key set URL
    decides whose signatures every sibling tenant's launches accept. Adding a new
    registration, a new deployment, or automatic deployment registration creates
    tenants, which is install-wide.
    """
    if actor.is_install_admin:
        return
    action = "registration.save"
    if actor.role != "admin" or actor.tenant_id is None:
        raise ConsoleForbidden(action, "Your console role does not allow this.")
    registration = session.scalar(
        select(Registration).where(
            Registration.issuer == issuer, Registration.client_id == client_id
        )
    )
    own = session.get(Deployment, actor.tenant_id)
    if (
        registration is None
        or own is None
        or {d.id for d in registration.deployments} != {own.id}
    ):
        raise ConsoleForbidden(
            action,
            "You can only change the registration of your own tenant. Adding or "
            "changing another platform registration needs an install-wide admin.",
        )
    if deployment_id not in (None, own.deployment_id):
        raise ConsoleForbidden(
            action, "Adding a deployment (a new tenant) needs an install-wide admin."
        )
    if (
        unknown_deployment_policy == UNKNOWN_DEPLOYMENT_AUTO
        and registration.unknown_deployment_policy != UNKNOWN_DEPLOYMENT_AUTO
    ):
        raise ConsoleForbidden(
            action,
            "Registering unknown deployments automatically creates tenants: that "
            "needs an install-wide admin.",
        )


def save_registration(
    session: Session,
    *,
    actor: ConsoleActor,
    issuer: str,
    client_id: str,
    auth_login_url: str,
    auth_token_url: str,
    key_set_url: str | None,
    deployment_id: str | None = None,
    name: str = "",
    platform_kind: str | None = None,
    unknown_deployment_policy: str | None = None,
) -> Registration:
    """Create or update a registration within the actor's scope; audited.

    Raises:
        ConsoleForbidden: the registration is not the actor's to change.
        RegistrationFailed: the values are not a usable registration.
    """
    _check_registration_scope(
        session,
        actor,
        issuer=issuer,
        client_id=client_id,
        deployment_id=deployment_id,
        unknown_deployment_policy=unknown_deployment_policy,
    )
    return add_registration(
        session,
        issuer=issuer,
        client_id=client_id,
        auth_login_url=auth_login_url,
        auth_token_url=auth_token_url,
        key_set_url=key_set_url,
        deployment_id=deployment_id,
        name=name,
        platform_kind=platform_kind,
        unknown_deployment_policy=unknown_deployment_policy,
        actor=actor.name,
        # The console's platform form is the admin's explicit edit (Dynamic
        # Registration never replaces a registration: it calls without this).
        allow_update=True,
    )
