"""Adaptive services: what of the catalogue a tenant may see, and one scope's framework.

A tenant sees its own frameworks and the shared ones (``tenant_id IS NULL``), and only
its own learners; everything below a framework (skills, activities, roles, modules)
is visible exactly when its framework is. The rule itself lives in
``lti_tool.infra.tenancy``.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from adaptive.models import Framework
from lti_tool.infra.tenancy import owned_by_scope, visible_to_tenant


class NotVisibleError(LookupError):
    """The object does not exist for this tenant (never reveal other tenants' data)."""


def visible_frameworks(tenant_id: int) -> ColumnElement[bool]:
    """The frameworks ``tenant_id`` may read: its own and the shared ones."""
    return visible_to_tenant(Framework.tenant_id, tenant_id)


def find_framework(
    session: Session, *, key: str, tenant_id: int | None
) -> Framework | None:
    """The framework with ``key`` in a tenant (``None`` = the shared catalogue)."""
    return session.scalars(
        select(Framework).where(
            Framework.key == key, owned_by_scope(Framework.tenant_id, tenant_id)
        )
    ).first()
