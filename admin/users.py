"""Admin console (service): console accounts, their scope, sign-in and session epochs.

A console session is valid only while its account exists, is enabled and still has
the session epoch it was signed in under. Every change that should end a user's
sessions (logout, disable, role, tenant or password change) raises the epoch here,
so the console and the `pathwise admin` commands end sessions the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from lti_tool.infra.audit import record_audit
from lti_tool.infra.db import utcnow
from lti_tool.infra.models import AdminUser, Deployment
from lti_tool.infra.tenancy import console_scope_label

MIN_PASSWORD_LENGTH = 10
CONSOLE_ROLES = ("admin", "author")
# Hashed once: unknown usernames cost the same time as wrong passwords.
_DUMMY_HASH = generate_password_hash("pathwise-no-such-user")


class AdminUserError(ValueError):
    """A console account that cannot be created or changed as asked."""


@dataclass(frozen=True)
class ConsoleUserRow:
    """One line of the users list (CLI and console)."""

    username: str
    role: str
    scope: str
    disabled: bool
    last_login: str


def find_admin_user(session: Session, username: str) -> AdminUser | None:
    return session.scalar(select(AdminUser).where(AdminUser.username == username))


def _require_user(session: Session, username: str) -> AdminUser:
    user = find_admin_user(session, username)
    if user is None:
        raise AdminUserError(f"no console user {username}")
    return user


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AdminUserError(
            f"passwords need at least {MIN_PASSWORD_LENGTH} characters"
        )


def _check_role(role: str) -> None:
    if role not in CONSOLE_ROLES:
        raise AdminUserError(f"role must be one of {', '.join(CONSOLE_ROLES)}")


def _check_tenant(session: Session, tenant_id: int | None) -> None:
    if tenant_id is not None and session.get(Deployment, tenant_id) is None:
        raise AdminUserError(
            f"no tenant {tenant_id} (a deployment id from `pathwise platform list`)"
        )


def end_sessions(user: AdminUser) -> None:
    """End every console session of ``user`` (they were signed in under the old epoch)."""
    user.session_epoch = (user.session_epoch or 0) + 1


def _audit(
    session: Session, user: AdminUser, actor: str, action: str, **details: object
) -> None:
    record_audit(
        session,
        actor=actor,
        action=action,
        target=user.username,
        tenant_id=user.tenant_id,
        details=details,
    )


def create_admin_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str = "admin",
    tenant_id: int | None = None,
    replace: bool = False,
    actor: str | None = None,
) -> AdminUser:
    """Create a console account (or reset it with ``replace``); audited when ``actor`` is given."""
    _check_role(role)
    _check_password(password)
    _check_tenant(session, tenant_id)
    user = find_admin_user(session, username)
    if user is not None and not replace:
        raise AdminUserError(f"user {username} already exists")
    if user is None:
        user = AdminUser(username=username, password_hash="", session_epoch=0)
        session.add(user)
    else:
        end_sessions(user)
    user.password_hash = generate_password_hash(password)
    user.role = role
    user.tenant_id = tenant_id
    user.disabled = False
    session.flush()
    if actor is not None:
        _audit(
            session,
            user,
            actor,
            "console.user_created",
            role=role,
            scope=console_scope_label(tenant_id),
        )
    return user


def list_admin_users(session: Session) -> list[ConsoleUserRow]:
    """Every console account with its role, scope, state and last sign-in."""
    return [
        ConsoleUserRow(
            username=user.username,
            role=user.role,
            scope=console_scope_label(user.tenant_id),
            disabled=user.disabled,
            last_login=(
                f"{user.last_login_at:%Y-%m-%d %H:%M} UTC"
                if user.last_login_at
                else "never"
            ),
        )
        for user in session.scalars(select(AdminUser).order_by(AdminUser.username))
    ]


def set_disabled(
    session: Session, *, username: str, disabled: bool, actor: str
) -> AdminUser:
    """Disable (ending every session) or enable a console account; audited."""
    user = _require_user(session, username)
    user.disabled = disabled
    end_sessions(user)
    _audit(
        session,
        user,
        actor,
        "console.user_disabled" if disabled else "console.user_enabled",
    )
    session.flush()
    return user


def set_password(
    session: Session, *, username: str, password: str, actor: str
) -> AdminUser:
    """Give a console account a new password, ending its sessions; audited (no password)."""
    _check_password(password)
    user = _require_user(session, username)
    user.password_hash = generate_password_hash(password)
    end_sessions(user)
    _audit(session, user, actor, "console.password_set")
    session.flush()
    return user


def set_role(session: Session, *, username: str, role: str, actor: str) -> AdminUser:
    """Change a console account's role, ending its sessions; audited."""
    _check_role(role)
    user = _require_user(session, username)
    previous, user.role = user.role, role
    end_sessions(user)
    _audit(session, user, actor, "console.role_set", role=role, previous=previous)
    session.flush()
    return user


def set_tenant(
    session: Session, *, username: str, tenant_id: int | None, actor: str
) -> AdminUser:
    """Bind a console account to one tenant (or to the install: ``None``); audited.

    The old scope's sessions end: a page open in another tab must not keep showing
    the tenant the user no longer belongs to.
    """
    _check_tenant(session, tenant_id)
    user = _require_user(session, username)
    previous, user.tenant_id = user.tenant_id, tenant_id
    end_sessions(user)
    _audit(
        session,
        user,
        actor,
        "console.tenant_set",
        scope=console_scope_label(tenant_id),
        previous=console_scope_label(previous),
    )
    session.flush()
    return user


def delete_admin_user(session: Session, *, username: str, actor: str) -> None:
    """Delete a console account; its sessions fail because the account is gone."""
    user = _require_user(session, username)
    _audit(session, user, actor, "console.user_deleted")
    session.delete(user)
    session.flush()


def authenticate(session: Session, *, username: str, password: str) -> AdminUser | None:
    """The enabled account with this username and password, else ``None``.

    A disabled account fails exactly like a wrong password, so a guesser cannot tell
    which usernames exist or are disabled; unknown usernames are hashed too.
    """
    user = find_admin_user(session, username)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or user.disabled:
        return None
    return user


def record_sign_in(user: AdminUser) -> None:
    """Note a successful sign-in (shown in the users list)."""
    user.last_login_at = utcnow()


def session_user(session: Session, *, user_id: int, epoch: int) -> AdminUser | None:
    """The account behind a console session, or ``None`` when the session has ended.

    Checked on every console request: the account must still exist, be enabled and
    carry the epoch the session was signed in under.
    """
    user = session.get(AdminUser, user_id)
    if user is None or user.disabled or user.session_epoch != epoch:
        return None
    return user


def sign_out(session: Session, *, user_id: int, actor: str) -> None:
    """End every session of the signed-out account (a saved cookie stops working)."""
    user = session.get(AdminUser, user_id)
    if user is not None:
        end_sessions(user)
        _audit(session, user, actor, "console.logout")
        session.flush()
