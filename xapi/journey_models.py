"""Persistence for xAPI of the learner journey: mastery announced, external content state."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lti_tool.infra.db import Base, utcnow


class MasteryMark(Base):
    """What the LRS was last told about one learner's skill in one module.

    A mastery statement is sent when the engine's status crosses the role target
    (either way) and differs from this mark; ``changes`` numbers the crossings, so a
    recomputation names the same statement and the outbox keeps one.
    """

    __tablename__ = "xapi_mastery_marks"
    __table_args__ = (UniqueConstraint("person_id", "module_id", "skill_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE")
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id", ondelete="CASCADE"))
    skill_id: Mapped[int] = mapped_column(ForeignKey("skills.id", ondelete="CASCADE"))
    mastered: Mapped[bool] = mapped_column(default=False)
    changes: Mapped[int] = mapped_column(Integer, default=0)
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ContentState(Base):
    """One xAPI State API document an external activity saved (to resume it).

    Keyed as the State API keys it, with the learner and registration fixed by the
    facade credential, so content can only read and write its own learner's state.
    """

    __tablename__ = "xapi_content_states"
    __table_args__ = (
        UniqueConstraint("person_id", "registration", "activity_iri", "state_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE")
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    registration: Mapped[str] = mapped_column(String(36))
    activity_iri: Mapped[str] = mapped_column(String(1000))
    state_id: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(200))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
