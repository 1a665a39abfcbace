"""Adaptive services: the fitted skill parameters the learner model runs on.

The tenant's own fit wins over the install-wide one; both change only when a model is
retrained or configured, so they are cached until the ``config`` revision moves.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive.core.learner_types import ParamSet
from adaptive.core.params import BKTParams
from adaptive.models import SkillParams
from lti_tool.infra import revision
from lti_tool.infra.tenancy import visible_to_tenant

_PARAMS = revision.RevisionCache(revision.CONFIG, size=256)


def load_params(session: Session, *, tenant_id: int) -> ParamSet:
    """Fitted parameters: the tenant's own fit wins over the install-wide one."""
    return _PARAMS.get(
        session, ("params", tenant_id), lambda: _read_params(session, tenant_id)
    )


def _read_params(session: Session, tenant_id: int) -> ParamSet:
    per_skill: dict[int, BKTParams] = {}
    rows = session.scalars(
        select(SkillParams)
        .where(visible_to_tenant(SkillParams.tenant_id, tenant_id))
        .order_by(SkillParams.tenant_id.is_not(None))
    )
    for row in rows:
        per_skill[row.skill_id] = BKTParams(
            prior=row.prior,
            learn=row.learn,
            guess=row.guess,
            slip=row.slip,
            forget_per_day=row.forget_per_day,
        )
    return ParamSet(per_skill=per_skill)
