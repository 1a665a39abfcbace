"""Persistence for the adaptive engine: per-question parameters fitted from answers.

Kept beside ``SkillParams`` in spirit (both are a tenant's fitted configuration and
share its revision), apart in code so the catalogue models stay one module's worth.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lti_tool.infra import revision
from lti_tool.infra.db import Base, utcnow


class ItemParams(Base):
    """A question's fitted difficulty, guess and slip in one tenant.

    ``question`` is the 0-based index in the activity's questions; a row exists
    only for questions with enough answers (``adaptive.core.fit_items``).
    """

    __tablename__ = "item_params"
    __table_args__ = (UniqueConstraint("tenant_id", "activity_id", "question"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE")
    )
    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activities.id", ondelete="CASCADE")
    )
    question: Mapped[int] = mapped_column(Integer)
    difficulty: Mapped[float] = mapped_column(Float)
    guess: Mapped[float] = mapped_column(Float)
    slip: Mapped[float] = mapped_column(Float)
    n_responses: Mapped[int] = mapped_column(Integer, default=0)
    fitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# A retrain is configuration, like SkillParams; module snapshots hold these values,
# so their cache is keyed by the configuration revision too.
revision.track(revision.CONFIG, ItemParams)
