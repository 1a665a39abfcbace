"""LTI protocol: the grade delivery job a service asks for once its caller commits.

The outbox service cannot import its own job (the job imports the service), so the
composition root (``lti_tool.runtime.wire_follow_up_jobs``) hands the kick in, as
``xapi.kicks`` does for the statement outbox. Until then a kick fails loudly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from xapi.transaction import after_commit


def _unwired() -> None:
    raise RuntimeError("grade kicks are not wired: call wire_grade_kicks() at start-up")


@dataclass
class GradeKicks:
    deliver_grades: Callable[[], None] = _unwired


wired = GradeKicks()


def wire_grade_kicks(*, deliver_grades: Callable[[], None]) -> None:
    """Set the process-wide kick (the composition root calls this once per process)."""
    wired.deliver_grades = deliver_grades


def deliver_grades_after_commit(session: Session) -> None:
    """Kick grade delivery once the caller's transaction commits (once per commit)."""
    after_commit(session, "grade_outbox_kick", lambda: wired.deliver_grades())
