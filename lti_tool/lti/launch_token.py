"""LTI protocol: the HS256 launch token that authorises learner pages after a launch.

Learner pages and API calls inside the LMS frame cannot rely on a third-party cookie;
the token names one launch, person, tenant and role, and expires.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

import jwt
from sqlalchemy.orm import Session

from lti_tool.infra.models import Launch
from lti_tool.lti.errors import LaunchRejected


@dataclass(frozen=True)
class LaunchContext:
    """What a launch token authorises: one person, in one tenant, with one role."""

    launch_id: int
    person_id: int
    tenant_id: int
    role: str
    expires_at: dt.datetime
    resource_link_pk: int | None = None


def launch_context(
    launch: Launch, *, ttl_s: int, now: float | None = None
) -> LaunchContext:
    """What the token issued for ``launch`` now authorises (no need to decode it back)."""
    moment = int(time.time() if now is None else now)
    return LaunchContext(
        launch_id=launch.id,
        person_id=launch.person_id,
        tenant_id=launch.tenant_id,
        role=launch.role,
        expires_at=dt.datetime.fromtimestamp(moment + ttl_s, dt.UTC),
        resource_link_pk=launch.resource_link_pk,
    )


def issue_launch_token(
    *, secret_key: str, ttl_s: int, launch: Launch, now: float | None = None
) -> str:
    """Sign a launch token for ``launch``, valid ``ttl_s`` seconds."""
    moment = int(time.time() if now is None else now)
    payload = {
        "lid": launch.id,
        "pid": launch.person_id,
        "tid": launch.tenant_id,
        "role": launch.role,
        "rl": launch.resource_link_pk,
        "iat": moment,
        "exp": moment + ttl_s,
        "typ": "pathwise-launch",
    }
    return jwt.encode(payload, secret_key, algorithm="HS256")


def read_launch_token(*, secret_key: str, token: str) -> LaunchContext:
    """Verify a launch token; raise LaunchRejected (401) when it is bad or expired."""
    try:
        payload = jwt.decode(token, secret_key, algorithms=["HS256"])
    except jwt.ExpiredSignatureError:
        raise LaunchRejected(
            "launch_expired",
            "Your session has expired: open Pathwise again from the LMS.",
            401,
        ) from None
    except jwt.InvalidTokenError:
        raise LaunchRejected(
            "bad_launch_token", "This link is not valid.", 401
        ) from None
    if payload.get("typ") != "pathwise-launch" or "rl" not in payload:
        # Tokens without "rl" predate the tie to the launch row: open it again.
        raise LaunchRejected("bad_launch_token", "This link is not valid.", 401)
    try:
        return LaunchContext(
            launch_id=int(payload["lid"]),
            person_id=int(payload["pid"]),
            tenant_id=int(payload["tid"]),
            role=str(payload["role"]),
            expires_at=dt.datetime.fromtimestamp(int(payload["exp"]), dt.UTC),
            resource_link_pk=None if payload["rl"] is None else int(payload["rl"]),
        )
    except (KeyError, TypeError, ValueError):
        raise LaunchRejected(
            "bad_launch_token", "This link is not valid.", 401
        ) from None


def check_launch_row(session: Session, ctx: LaunchContext) -> Launch:
    """The token's claims must be its launch row's: person, tenant, role, resource link.

    The signature proves Pathwise issued the token; the row proves the launch still
    stands as it was recorded (not deleted with its tenant or person, not altered).

    Returns:
        The launch row (keep it referenced while the request reads it again: the
        session holds its objects weakly, and a dropped one is fetched anew).

    Raises:
        LaunchRejected: ``launch_gone`` (no such launch) or ``launch_mismatch`` (401).
    """
    launch = session.get(Launch, ctx.launch_id)
    if launch is None:
        raise LaunchRejected(
            "launch_gone", "This launch is no longer known: open it again.", 401
        )
    if (
        launch.person_id,
        launch.tenant_id,
        launch.role,
        launch.resource_link_pk,
    ) != (ctx.person_id, ctx.tenant_id, ctx.role, ctx.resource_link_pk):
        raise LaunchRejected(
            "launch_mismatch",
            "This link does not match the launch it names: open it again from the LMS.",
            401,
        )
    return launch
