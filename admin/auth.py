"""Admin console (web layer): the signed-in user, role checks, tenant scope and audit.

Every console area shares these, so they live apart from any one area's views: the
area modules import this module, never each other.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, g, redirect, request, session, url_for

from lti_tool.infra.audit import record_audit
from lti_tool.web.transaction import request_session

F = TypeVar("F", bound=Callable[..., Any])


def current_admin() -> dict[str, Any] | None:
    """The signed-in console user: {"id", "username", "role", "tenant_id"} or None."""
    value: dict[str, Any] | None = session.get("admin_user")
    return value


def admin_required(*roles: str) -> Callable[[F], F]:
    """Require a signed-in console user, optionally with one of ``roles``."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_admin()
            if user is None:
                return redirect(url_for("admin.login", next=request.full_path))
            if roles and user["role"] not in roles:
                abort(403, "Your console role does not allow this page.")
            g.admin_user = user
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def console_actor() -> str:
    """The audit actor of the signed-in user (inside an ``admin_required`` view)."""
    return f"console:{g.admin_user['username']}"


def console_scope() -> int | None:
    """The tenant a console user is bound to, or ``None`` for an install-wide user."""
    tenant: int | None = g.admin_user.get("tenant_id")
    return tenant


def audit(action: str, target: str = "", **details: Any) -> None:
    """Record a console action by the signed-in user (same transaction as the change)."""
    user = current_admin() or {}
    record_audit(
        request_session(),
        actor=f"console:{user.get('username', 'anonymous')}",
        tenant_id=user.get("tenant_id"),
        action=action,
        target=target,
        details=details,
    )
