"""Shared infrastructure: the one home of the tenancy rule.

A tenant is one LMS deployment (``deployments.id``). Catalogue rows, rules and
connections belong either to one tenant or to the shared catalogue (``tenant_id``
NULL). Every query that scopes by tenant builds its condition here, so the rule
cannot drift between packages.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, or_


def visible_to_tenant(tenant_column: Any, tenant_id: int) -> ColumnElement[bool]:
    """Rows a tenant may read: its own and the shared ones (``tenant_id`` NULL)."""
    condition: ColumnElement[bool] = or_(
        tenant_column == tenant_id, tenant_column.is_(None)
    )
    return condition


def owned_by_scope(tenant_column: Any, tenant_id: int | None) -> ColumnElement[bool]:
    """Rows of exactly one scope: a tenant's, or the shared catalogue's for ``None``."""
    condition: ColumnElement[bool] = (
        tenant_column.is_(None) if tenant_id is None else tenant_column == tenant_id
    )
    return condition


def in_console_scope(
    tenant_column: Any, scope_tenant_id: int | None
) -> ColumnElement[bool] | None:
    """A console user's view: everything for an install user (``None``), else their tenant.

    Returns ``None`` when no condition applies, so callers add a ``where`` only when
    the user is bound to a tenant.
    """
    if console_is_install_wide(scope_tenant_id):
        return None
    condition: ColumnElement[bool] = tenant_column == scope_tenant_id
    return condition


def console_may_see(scope_tenant_id: int | None, row_tenant_id: int | None) -> bool:
    """``in_console_scope`` for one loaded row: may this console user see it?"""
    return console_is_install_wide(scope_tenant_id) or row_tenant_id == scope_tenant_id


def console_is_install_wide(scope_tenant_id: int | None) -> bool:
    """Is a console user with this scope install-wide (bound to no tenant)?"""
    return scope_tenant_id is None


def console_scope_label(scope_tenant_id: int | None) -> str:
    """How a console user's scope is shown (header, users list, CLI)."""
    if console_is_install_wide(scope_tenant_id):
        return "install"
    return f"tenant {scope_tenant_id}"
