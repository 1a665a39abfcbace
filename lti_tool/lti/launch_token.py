"""LTI protocol: the HS256 launch token that authorises learner pages after a launch.

Learner pages and API calls inside the LMS frame cannot rely on a third-party cookie;
the token names one launch, person, tenant and role, and expires.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

import jwt

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
    if payload.get("typ") != "pathwise-launch":
        raise LaunchRejected("bad_launch_token", "This link is not valid.", 401)
    return LaunchContext(
        launch_id=int(payload["lid"]),
        person_id=int(payload["pid"]),
        tenant_id=int(payload["tid"]),
        role=str(payload["role"]),
        expires_at=dt.datetime.fromtimestamp(int(payload["exp"]), dt.UTC),
    )
