"""Shared infrastructure: the tenants an admin can name (id, LMS issuer, deployment, name).

A tenant is a ``deployments`` row, but an admin knows it by the LMS's deployment id
or by its name; ``find_tenant`` accepts any of them. A plain number that is a tenant
id is that tenant (the id ``pathwise tenants list`` prints first, and what scripts
already pass: Moodle's deployment ids are small numbers too); any other reference
that fits more than one tenant is refused rather than guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from lti_tool.infra.models import Deployment, Registration

# Prefixes that say which of the three a reference is (to settle an ambiguity).
KINDS = ("id", "deployment", "name")


@dataclass(frozen=True)
class TenantRow:
    id: int
    issuer: str
    deployment_id: str
    name: str
    lms: str
    active: bool


class TenantNotFound(ValueError):
    """No tenant, or more than one, answers to the reference."""


def list_tenants(session: Session) -> list[TenantRow]:
    """Every tenant with what identifies it in its LMS, by id."""
    query = (
        select(Deployment, Registration)
        .join(Registration, Registration.id == Deployment.registration_id)
        .order_by(Deployment.id)
    )
    return [
        TenantRow(
            id=d.id,
            issuer=r.issuer,
            deployment_id=d.deployment_id,
            name=d.name,
            lms=r.name,
            active=d.active,
        )
        for d, r in session.execute(query)
    ]


def find_tenant(session: Session, reference: str) -> int:
    """The tenant (``deployments.id``) that ``reference`` names.

    ``reference`` is a tenant id, an LMS deployment id or a deployment name, or
    one of them prefixed ``id:``, ``deployment:`` or ``name:``. Raises
    TenantNotFound when none or several tenants match, naming the candidates.
    """
    text = reference.strip()
    kind, _, rest = text.partition(":")
    if kind in KINDS and rest:
        kinds: tuple[str, ...] = (kind,)
        text = rest.strip()
    else:
        kinds = KINDS
    conditions = []
    if "id" in kinds and text.isdigit():
        conditions.append(Deployment.id == int(text))
    if "deployment" in kinds:
        conditions.append(Deployment.deployment_id == text)
    if "name" in kinds:
        conditions.append(Deployment.name == text)
    if not conditions:
        raise TenantNotFound(f"no tenant {reference!r}: an id is a number")
    if (
        len(kinds) > 1
        and text.isdigit()
        and session.get(Deployment, int(text)) is not None
    ):
        return int(text)
    found = list(
        session.scalars(
            select(Deployment).where(or_(*conditions)).order_by(Deployment.id)
        )
    )
    if not found:
        raise TenantNotFound(
            f"no tenant {reference!r} (by id, LMS deployment id or name); "
            "list them: pathwise tenants list"
        )
    if len(found) > 1:
        candidates = ", ".join(
            f"{d.id} (deployment {d.deployment_id!r}"
            + (f", name {d.name!r})" if d.name else ")")
            for d in found
        )
        raise TenantNotFound(
            f"{reference!r} names several tenants: {candidates}; "
            "say which with id:N, deployment:ID or name:NAME"
        )
    return found[0].id


def other_meanings(session: Session, reference: str, tenant_id: int) -> list[TenantRow]:
    """Other tenants a plain-number reference also names (by deployment id or name).

    ``find_tenant`` takes such a number as the tenant id; an admin who meant the LMS's
    deployment id (Moodle's are small numbers too) is told rather than left to
    import into the wrong tenant.
    """
    text = reference.strip()
    if not text.isdigit():
        return []
    return [
        row
        for row in list_tenants(session)
        if row.id != tenant_id and text in (row.deployment_id, row.name)
    ]
