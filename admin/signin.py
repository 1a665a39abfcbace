"""Admin console (service): sign-in, throttled per account and per client address.

Counts live in the shared expiring store (Redis, or the ``expiring_values`` table in
embedded mode), so every web process sees the same numbers. The backoff is fixed:
after ``ACCOUNT_LIMIT`` failed sign-ins for one username, or ``ADDRESS_LIMIT`` from one
address, within ``WINDOW_S``, every sign-in for that username or from that address is
refused for ``COOLDOWN_S``, even with the right password. Refused attempts do not
extend the cooling-off period, so a guesser cannot keep an admin locked out forever
from one address, and the per-address limit is higher so people behind one proxy do
not lock each other out after a few typos.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session

from admin.users import authenticate, record_sign_in
from lti_tool.infra.audit import record_audit
from lti_tool.infra.models import AdminUser
from lti_tool.infra.store import ExpiringStore

ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20
WINDOW_S = 15 * 60
COOLDOWN_S = 15 * 60
THROTTLED = "throttled"
WRONG_PASSWORD = "wrong_password"  # noqa: S105 - a reason code, not a password

log = logging.getLogger("pathwise.admin")


@dataclass(frozen=True)
class Throttle:
    """Whom a throttle check is about: the username tried and the client address."""

    username: str
    address: str


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in: the account, or why there is none."""

    user: AdminUser | None
    refused: str | None = None


def _counters(throttle: Throttle) -> list[tuple[str, int]]:
    # Hashed: usernames and addresses are free text, store keys are not.
    account = hashlib.sha256(throttle.username.strip().lower().encode()).hexdigest()
    address = hashlib.sha256(throttle.address.encode()).hexdigest()
    return [
        (f"login:account:{account}", ACCOUNT_LIMIT),
        (f"login:address:{address}", ADDRESS_LIMIT),
    ]


def sign_in_refused(store: ExpiringStore, throttle: Throttle) -> bool:
    """Is this username or address cooling off after too many failures?"""
    return any(store.get(key + ":locked") is not None for key, _ in _counters(throttle))


def record_sign_in_failure(store: ExpiringStore, throttle: Throttle) -> bool:
    """Count a failed sign-in; True when it starts a cooling-off period."""
    locked = False
    for key, limit in _counters(throttle):
        if store.increment(key, WINDOW_S) >= limit:
            locked = store.add_if_absent(key + ":locked", 1, COOLDOWN_S) or locked
    return locked


def clear_account_failures(store: ExpiringStore, throttle: Throttle) -> None:
    """A successful sign-in forgets the account's failures (not the address's)."""
    account_key, _ = _counters(throttle)[0]
    store.pop(account_key)


def sign_in(
    session: Session,
    store: ExpiringStore,
    *,
    username: str,
    password: str,
    address: str,
) -> SignIn:
    """Check a console sign-in; every failure is audited and logged in one line.

    A username or address cooling off is refused before the password is checked,
    so the right password does not help during the cooling-off period.
    """
    throttle = Throttle(username=username, address=address)
    if sign_in_refused(store, throttle):
        _record_failure(session, throttle, THROTTLED)
        return SignIn(user=None, refused=THROTTLED)
    user = authenticate(session, username=username, password=password)
    if user is None:
        locked = record_sign_in_failure(store, throttle)
        _record_failure(session, throttle, WRONG_PASSWORD, cooling_off=locked)
        return SignIn(user=None, refused=WRONG_PASSWORD)
    clear_account_failures(store, throttle)
    record_sign_in(user)
    record_audit(
        session,
        actor=f"console:{user.username}",
        tenant_id=user.tenant_id,
        action="console.login",
        target=user.username,
        details={"address": address},
    )
    return SignIn(user=user)


def _record_failure(
    session: Session, throttle: Throttle, reason: str, *, cooling_off: bool = False
) -> None:
    log.warning(
        "console sign-in failed: reason=%s username=%r address=%s%s",
        reason,
        throttle.username,
        throttle.address,
        " (cooling off starts)" if cooling_off else "",
    )
    record_audit(
        session,
        actor="console:anonymous",
        action="console.login_failed",
        target=throttle.username[:300],
        details={"address": throttle.address, "reason": reason},
    )
