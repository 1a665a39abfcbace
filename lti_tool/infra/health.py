"""Readiness: can this web process reach what a launch needs (database, Redis)?

``/healthz`` stays a liveness check (the process is up); ``/readyz`` is what a load
balancer or orchestrator should route by: a launch fails without either dependency.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session


@dataclass
class Readiness:
    checks: dict[str, str] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return all(v in ("ok", "not configured") for v in self.checks.values())

    def as_dict(self) -> dict[str, str]:
        return {"status": "ok" if self.ready else "unavailable", **self.checks}


def readiness(session: Session, redis: Redis | None) -> Readiness:
    """Check each dependency once; a failure names the dependency and the error class."""
    result = Readiness()
    try:
        session.execute(text("SELECT 1"))
        result.checks["database"] = "ok"
    except SQLAlchemyError as exc:
        result.checks["database"] = f"error: {type(exc).__name__}"
    if redis is None:
        result.checks["redis"] = "not configured"
    else:
        try:
            redis.ping()
            result.checks["redis"] = "ok"
        except (RedisError, OSError) as exc:
            result.checks["redis"] = f"error: {type(exc).__name__}"
    return result
