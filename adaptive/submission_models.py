"""Adaptive persistence: learner submissions by their client-generated id (idempotency).

A player retries or double-clicks; the id it generated for one attempt or placement
answer names that submission once, and the answer it got is kept to be returned again.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lti_tool.infra.db import Base, utcnow

SUBMISSION_ATTEMPT = "attempt"
SUBMISSION_PLACEMENT_ANSWER = "placement_answer"
# An outcome statement of external xAPI content, named by its statement id.
SUBMISSION_XAPI_OUTCOME = "xapi_outcome"


class ClientSubmission(Base):
    """One learner submission named by the client's UUID, with the answer it got."""

    __tablename__ = "client_submissions"
    __table_args__ = (UniqueConstraint("tenant_id", "person_id", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE")
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(20))
    attempt_id: Mapped[int | None] = mapped_column(
        ForeignKey("attempts.id", ondelete="SET NULL"), default=None
    )
    response: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
