"""Admin console (service): what a console user may read, scoped to their tenant.

A console user bound to one tenant (``AdminUser.tenant_id``) sees only that tenant's
registrations, counts and audit trail; an install-wide user sees everything. The rule
itself lives in ``lti_tool.infra.tenancy``; these queries only apply it.
"""

from __future__ import annotations

from typing import Any, TypeVarTuple

from sqlalchemy import Select, distinct, func, select
from sqlalchemy.orm import Session

from lti_tool.infra.models import AuditEntry, Deployment, Launch, Person, Registration
from lti_tool.infra.tenancy import console_may_see, in_console_scope

AUDIT_PAGE_SIZE = 500

Ts = TypeVarTuple("Ts")


def _scoped(
    statement: Select[*Ts], tenant_column: Any, tenant_id: int | None
) -> Select[*Ts]:
    condition = in_console_scope(tenant_column, tenant_id)
    return statement if condition is None else statement.where(condition)


def count_overview(session: Session, *, tenant_id: int | None) -> dict[str, int]:
    """The dashboard's figures: platforms, tenants, people and launches in scope."""
    platforms = (
        select(func.count(distinct(Registration.id)))
        .select_from(Registration)
        .outerjoin(Registration.deployments)
    )
    return {
        "platforms": session.scalar(_scoped(platforms, Deployment.id, tenant_id)) or 0,
        "tenants": session.scalar(
            _scoped(select(func.count(Deployment.id)), Deployment.id, tenant_id)
        )
        or 0,
        "people": session.scalar(
            _scoped(select(func.count(Person.id)), Person.tenant_id, tenant_id)
        )
        or 0,
        "launches": session.scalar(
            _scoped(select(func.count(Launch.id)), Launch.tenant_id, tenant_id)
        )
        or 0,
    }


def list_platforms(
    session: Session, *, tenant_id: int | None
) -> list[tuple[Registration, list[Deployment]]]:
    """Registrations with a deployment in scope, each with the deployments in scope.

    A tenant-bound user must not learn the other deployments of a shared registration.
    """
    query = select(Registration).order_by(Registration.issuer)
    condition = in_console_scope(Deployment.id, tenant_id)
    if condition is not None:
        query = query.where(Registration.deployments.any(condition))
    return [
        (
            registration,
            [d for d in registration.deployments if console_may_see(tenant_id, d.id)],
        )
        for registration in session.scalars(query)
    ]


def list_audit_entries(session: Session, *, tenant_id: int | None) -> list[AuditEntry]:
    """The newest audit entries in scope (install-wide entries only for install users)."""
    query = _scoped(select(AuditEntry), AuditEntry.tenant_id, tenant_id)
    return list(
        session.scalars(query.order_by(AuditEntry.at.desc()).limit(AUDIT_PAGE_SIZE))
    )


def list_tenant_choices(
    session: Session, *, tenant_id: int | None
) -> list[tuple[int, str]]:
    """Tenants a console user may pick in a form: (deployment id, label)."""
    query = (
        select(
            Deployment.id,
            Deployment.deployment_id,
            Deployment.name,
            Registration.issuer,
        )
        .join(Registration, Registration.id == Deployment.registration_id)
        .order_by(Deployment.id)
    )
    return [
        (tid, f"tenant {tid}: {name or issuer} - deployment {dep}")
        for tid, dep, name, issuer in session.execute(
            _scoped(query, Deployment.id, tenant_id)
        )
    ]


PEOPLE_PAGE_SIZE = 500


def list_people(session: Session, *, tenant_id: int | None) -> list[Person]:
    """The directory in scope, newest first (launched, imported and roster people)."""
    query = _scoped(select(Person), Person.tenant_id, tenant_id)
    return list(
        session.scalars(query.order_by(Person.id.desc()).limit(PEOPLE_PAGE_SIZE))
    )
