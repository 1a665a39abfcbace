"""Admin console (service): console accounts, password hashing and sign-in (callers audit)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from lti_tool.infra.models import AdminUser

MIN_PASSWORD_LENGTH = 10
CONSOLE_ROLES = ("admin", "author")


class AdminUserError(ValueError):
    """A console account that cannot be created as asked."""


def find_admin_user(session: Session, username: str) -> AdminUser | None:
    return session.scalar(select(AdminUser).where(AdminUser.username == username))


def create_admin_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str = "admin",
    tenant_id: int | None = None,
    replace: bool = False,
) -> AdminUser:
    if role not in CONSOLE_ROLES:
        raise AdminUserError(f"role must be one of {', '.join(CONSOLE_ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AdminUserError(
            f"passwords need at least {MIN_PASSWORD_LENGTH} characters"
        )
    user = find_admin_user(session, username)
    if user is not None and not replace:
        raise AdminUserError(f"user {username} already exists")
    if user is None:
        user = AdminUser(username=username, password_hash="")
        session.add(user)
    user.password_hash = generate_password_hash(password)
    user.role = role
    user.tenant_id = tenant_id
    session.flush()
    return user


def authenticate(session: Session, *, username: str, password: str) -> AdminUser | None:
    user = find_admin_user(session, username)
    # Hash even for unknown users so timing does not reveal which usernames exist.
    if user is None:
        check_password_hash(generate_password_hash("x"), password)
        return None
    return user if check_password_hash(user.password_hash, password) else None
