"""LTI protocol: pylti1p3's ToolConf backed by our database (many platforms, many client_ids)."""

from __future__ import annotations

from typing import Any

from pylti1p3.deployment import Deployment as LtiDeployment
from pylti1p3.registration import Registration as LtiRegistration
from pylti1p3.tool_config.abstract import ToolConfAbstract
from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_tool.infra import revision
from lti_tool.infra.models import Deployment, Registration
from lti_tool.lti.keys import current_signing_key


def to_lti_registration(
    session: Session, registration: Registration, *, with_tool_key: bool = True
) -> LtiRegistration:
    """Build pylti1p3's registration object, with our current signing key attached.

    Validating a launch needs only the platform's keys: ``with_tool_key=False`` skips
    decrypting ours on that hot path.
    """
    lti = LtiRegistration()
    lti.set_issuer(registration.issuer)
    lti.set_client_id(registration.client_id)
    lti.set_auth_login_url(registration.auth_login_url)
    lti.set_auth_token_url(registration.auth_token_url)
    if registration.auth_audience:
        lti.set_auth_audience(registration.auth_audience)
    lti.set_key_set_url(registration.key_set_url)
    if registration.key_set:
        lti.set_key_set(registration.key_set)  # type: ignore[arg-type]
    if with_tool_key:
        key = current_signing_key(session)
        lti.set_tool_private_key(key.private_pem)
        lti.set_tool_public_key(key.public_pem)
    return lti


_REGISTRATIONS = revision.RevisionCache(revision.CONFIG)
_TENANTS = revision.RevisionCache(revision.CONFIG, size=4096)


def tenant_row(
    session: Session, registration_id: int, deployment_id: str
) -> Deployment | None:
    """The tenant (deployment) of a registration, active or not, via the revision cache."""
    rows = revision.cached_rows(
        _TENANTS,
        session,
        (registration_id, deployment_id),
        lambda: session.scalars(
            select(Deployment).where(
                Deployment.registration_id == registration_id,
                Deployment.deployment_id == deployment_id,
            )
        ).all(),
    )
    return rows[0] if rows else None


class DatabaseToolConf(ToolConfAbstract[Any]):
    """Registrations and deployments are rows, read through lti_tool.infra.revision's cache."""

    def __init__(self, session: Session) -> None:
        self._session = session

    # Every issuer may have many client_ids (Canvas); never the one-client shortcut.
    def check_iss_has_one_client(self, iss: str) -> bool:
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    def registration_row(self, iss: str, client_id: str | None) -> Registration | None:
        """Read through the per-process cache: exact, since any change moves the stamp."""
        query = select(Registration).where(Registration.issuer == iss)
        if client_id is not None:
            query = query.where(Registration.client_id == client_id)
        rows = revision.cached_rows(
            _REGISTRATIONS,
            self._session,
            (iss, client_id),
            lambda: self._session.scalars(query).all(),
        )
        return rows[0] if len(rows) == 1 else None

    def find_registration_by_issuer(
        self, iss: str, *args: Any, **kwargs: Any
    ) -> LtiRegistration:
        row = self.registration_row(iss, None)
        return to_lti_registration(self._session, row) if row else None  # type: ignore[return-value]

    def find_registration_by_params(
        self, iss: str, client_id: str, *args: Any, **kwargs: Any
    ) -> LtiRegistration:
        row = self.registration_row(iss, client_id)
        return to_lti_registration(self._session, row) if row else None  # type: ignore[return-value]

    def deployment_row(
        self, iss: str, deployment_id: str, client_id: str | None
    ) -> Deployment | None:
        registration = self.registration_row(iss, client_id)
        if registration is None:
            return None
        tenant = tenant_row(self._session, registration.id, deployment_id)
        return tenant if tenant is not None and tenant.active else None

    def find_deployment(self, iss: str, deployment_id: str) -> LtiDeployment | None:
        return self._to_lti(self.deployment_row(iss, deployment_id, None))

    def find_deployment_by_params(
        self, iss: str, deployment_id: str, client_id: str, *args: Any, **kwargs: Any
    ) -> LtiDeployment | None:
        return self._to_lti(self.deployment_row(iss, deployment_id, client_id))

    @staticmethod
    def _to_lti(row: Deployment | None) -> LtiDeployment | None:
        if row is None:
            return None
        return LtiDeployment().set_deployment_id(row.deployment_id)
