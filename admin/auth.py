"""Admin console (web layer): the signed-in user, role checks, tenant scope and audit.

Every console area shares these, so they live apart from any one area's views: the
area modules import this module, never each other.

The session cookie names only the account and the session epoch it was signed in
under; role, tenant and "still allowed in" are read from the database on every
request (``admin.users.session_user``), so logout, disable, a role, tenant or
password change, or deleting the account ends every session at once.
"""

from __future__ import annotations

import functools
import logging
import unicodedata
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from flask import abort, g, redirect, render_template, request, session, url_for

from admin.actions import ConsoleActor, ConsoleForbidden
from admin.users import session_user
from lti_tool.infra.audit import record_audit
from lti_tool.infra.models import AdminUser
from lti_tool.infra.tenancy import console_may_see, console_scope_label
from lti_tool.web.transaction import request_session

F = TypeVar("F", bound=Callable[..., Any])
SESSION_KEY = "console"
log = logging.getLogger("pathwise.admin")


def start_console_session(user: AdminUser) -> None:
    """Sign ``user`` in: a fresh cookie naming the account and its current epoch."""
    session.clear()
    session[SESSION_KEY] = {"id": user.id, "epoch": user.session_epoch}
    g.admin_user = _as_dict(user)


def _as_dict(user: AdminUser) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "role": user.role,
        "tenant_id": user.tenant_id,
        "scope": console_scope_label(user.tenant_id),
    }


def current_admin() -> dict[str, Any] | None:
    """The signed-in console user: {"id", "username", "role", "tenant_id", "scope"} or None.

    ``None`` also when the cookie's session has ended (see the module docstring);
    such a cookie is cleared.
    """
    if "admin_user" in g:
        known: dict[str, Any] | None = g.admin_user
        return known
    value = session.get(SESSION_KEY)
    user = None
    if isinstance(value, dict):
        user_id, epoch = value.get("id"), value.get("epoch")
        if isinstance(user_id, int) and isinstance(epoch, int):
            user = session_user(request_session(), user_id=user_id, epoch=epoch)
    if user is None:
        if value is not None or "admin_user" in session:
            log.info("console session ended: signed out, changed or removed account")
            session.clear()
        return None
    g.admin_user = _as_dict(user)
    return dict(g.admin_user)


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


def acting_user() -> ConsoleActor:
    """The signed-in user as the actor of a console action (role and scope included)."""
    return ConsoleActor(
        name=console_actor(), role=g.admin_user["role"], tenant_id=console_scope()
    )


def require_tenant_in_scope(tenant_id: int | None) -> None:
    """404 for a tenant the signed-in user may not see (e.g. a ``?tenant=`` value)."""
    if tenant_id is None or not console_may_see(console_scope(), tenant_id):
        abort(404)


def audit(action: str, target: str = "", **details: Any) -> None:
    """Record a console action by the signed-in user (same transaction as the change)."""
    user = g.get("admin_user") or {}
    record_audit(
        request_session(),
        actor=f"console:{user.get('username', 'anonymous')}",
        tenant_id=user.get("tenant_id"),
        action=action,
        target=target,
        details=details,
    )


def refuse_forbidden(exc: ConsoleForbidden) -> tuple[str, int]:
    """A console action outside the user's scope: 403 page, one log line, an audit entry.

    A refused POST commits the audit entry (the request made no other change), so the
    audit log shows who tried what; a refused GET is only logged (a GET writes nothing).
    """
    user = g.get("admin_user") or {}
    log.warning(
        "console action refused: %s by %s (scope %s)",
        exc.action,
        user.get("username", "anonymous"),
        user.get("scope", "-"),
    )
    audit("console.refused", exc.action, reason=exc.message)
    page = render_template(
        "error.html", title="Forbidden", message=exc.message, code=403
    )
    return page, 403


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a same-origin path, else ``None`` (never an open redirect).

    Browsers drop tabs and newlines inside URLs and treat ``\\`` as ``/``, so
    ``/\\t/evil.test`` becomes ``//evil.test``: any control character or whitespace,
    any backslash, a scheme, a host, or anything not starting with exactly one
    ``/`` is refused, also after one more round of percent-decoding.
    """
    if not target:
        return None
    for text in (target, unquote(target)):
        if "\\" in text or any(
            ch.isspace() or unicodedata.category(ch).startswith("C") for ch in text
        ):
            return None
        if not text.startswith("/") or text.startswith("//"):
            return None
        parts = urlsplit(text)
        if parts.scheme or parts.netloc:
            return None
    return target
