"""LTI protocol: the tool's side of registering a development LMS (its Registration rows).

The development LMS reaches the tool only over HTTP, so it cannot write these rows
itself: the demo command and the demo's composition root call this module instead,
as an administrator registering a real LMS would.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_tool.devplatform.vocabulary import DEV_CLIENT_ID, DEV_DEPLOYMENT_ID, DEV_PREFIX
from lti_tool.infra.config import Settings
from lti_tool.infra.models import Deployment, Registration


def dev_platform_issuer(settings: Settings) -> str:
    """The demo platform's issuer: it is mounted under the tool's own base URL."""
    return settings.base_url.rstrip("/") + DEV_PREFIX


def ensure_registration(
    session: Session,
    *,
    issuer: str,
    client_id: str,
    deployment_id: str,
    name: str = "Development LMS",
    platform_kind: str = "moodle",
) -> Registration:
    """Create (once) the tool-side Registration and Deployment for a dev platform."""
    registration = session.scalar(
        select(Registration).where(
            Registration.issuer == issuer, Registration.client_id == client_id
        )
    )
    if registration is None:
        registration = Registration(
            name=name,
            platform_kind=platform_kind,
            issuer=issuer,
            client_id=client_id,
            auth_login_url=issuer + "/auth",
            auth_token_url=issuer + "/token",
            key_set_url=issuer + "/jwks",
        )
        session.add(registration)
        session.flush()
    deployment = session.scalar(
        select(Deployment).where(
            Deployment.registration_id == registration.id,
            Deployment.deployment_id == deployment_id,
        )
    )
    if deployment is None:
        session.add(
            Deployment(
                registration_id=registration.id,
                deployment_id=deployment_id,
                name=f"{name} ({deployment_id})",
            )
        )
        session.flush()
    return registration


def ensure_dev_registration(session: Session, settings: Settings) -> Registration:
    """The demo's registration of the dev platform (issuer: base URL + prefix)."""
    return ensure_registration(
        session,
        issuer=dev_platform_issuer(settings),
        client_id=DEV_CLIENT_ID,
        deployment_id=DEV_DEPLOYMENT_ID,
    )
