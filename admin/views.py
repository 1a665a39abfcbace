"""Admin console routes (LMS admin, author, manager); thin: they call services."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, abort, g, redirect, request, session, url_for

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")

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
