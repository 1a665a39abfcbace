"""Adaptive services: who in a tenant has a role assignment or an override at all.

Most learners have neither, so their pages skip both lookups; the per-tenant sets are
cached until the ``paths`` revision moves (every assignment and override moves it).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive.models import LearnerRole, PathOverride
from lti_tool.infra import revision

_PATH_PEOPLE = revision.RevisionCache(revision.PATHS, size=1024)


@dataclass(frozen=True)
class PeopleWithPaths:
    """Who in a tenant has a role assignment or an active override at all."""

    roles: frozenset[int]
    overrides: frozenset[int]


def people_with_paths(session: Session, tenant_id: int) -> PeopleWithPaths:
    """Most learners have neither: their pages then skip both lookups.

    Exact: assignments and overrides move the ``paths`` revision when they change.
    """

    def read() -> PeopleWithPaths:
        roles = session.scalars(
            select(LearnerRole.person_id)
            .where(LearnerRole.tenant_id == tenant_id)
            .distinct()
        )
        overrides = session.scalars(
            select(PathOverride.person_id)
            .where(
                PathOverride.tenant_id == tenant_id,
                PathOverride.revoked_at.is_(None),
            )
            .distinct()
        )
        return PeopleWithPaths(frozenset(roles), frozenset(overrides))

    return _PATH_PEOPLE.get(session, tenant_id, read)
