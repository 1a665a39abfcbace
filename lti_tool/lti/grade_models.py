"""LTI protocol persistence: the grade outbox (one row per learner and link) and line items.

One row per (learner, resource link) is the coalescing rule: a newer score replaces
the pending one, so only the newest is ever sent. ``version`` counts the scores put
in and ``sent_version`` the one the LMS accepted, so a score that arrives while an
older one is on the wire is never marked sent by mistake.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lti_tool.infra.db import Base, utcnow

GRADE_PENDING = "pending"
GRADE_SENT = "sent"
GRADE_FAILING = "failing"
GRADE_STATUSES = (GRADE_PENDING, GRADE_SENT, GRADE_FAILING)


class GradeLineItem(Base):
    """The LMS line item a resource link's grades go to, found or created once."""

    __tablename__ = "grade_lineitems"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE")
    )
    resource_link_pk: Mapped[int] = mapped_column(
        ForeignKey("resource_links.id", ondelete="CASCADE"), unique=True
    )
    lineitem_url: Mapped[str] = mapped_column(String(1000))
    score_maximum: Mapped[float] = mapped_column(Float, default=100.0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class GradeOutboxEntry(Base):
    """The newest score for one learner on one link, and how its delivery went."""

    __tablename__ = "grade_outbox"
    __table_args__ = (
        UniqueConstraint("person_id", "resource_link_pk"),
        Index("ix_grade_outbox_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    resource_link_pk: Mapped[int] = mapped_column(
        ForeignKey("resource_links.id", ondelete="CASCADE"), index=True
    )
    # The LMS's user id (the launch's ``sub``), as AGS scores name the learner.
    user_id: Mapped[str] = mapped_column(String(255))
    # Progress toward the role's targets, 0..1 (times the line item's scoreMaximum).
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    completed: Mapped[bool] = mapped_column(default=False)
    comment: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(default=1)
    sent_version: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(20), default=GRADE_PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The timestamp of the last score sent (or tried): the next one must be later
    # by at least a whole second, or Moodle answers 409.
    last_timestamp: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_status: Mapped[int | None] = mapped_column(default=None)
    last_error: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(default=None)
