"""Pure: the types a decision is made of and reported in (live engine and old policy).

An attempt record, a manager's overrides, a recommendation with its reason, and the
progress statuses the learner pages and grades read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

STATUS_MASTERED = "mastered"
STATUS_MAINTAINED = "maintained"
STATUS_REFRESH_DUE = "refresh_due"
STATUS_IN_PROGRESS = "in_progress"
STATUS_NOT_STARTED = "not_started"
STATUS_LOCKED = "locked"
STATUS_SKIPPED = "skipped"
DONE_STATUSES = frozenset({STATUS_MASTERED, STATUS_MAINTAINED, STATUS_REFRESH_DUE})


@dataclass(frozen=True)
class Overrides:
    """A manager's (or learner's) say over the path; all optional."""

    pinned: tuple[int, ...] = ()
    skipped_skills: frozenset[int] = frozenset()
    skipped_activities: frozenset[int] = frozenset()
    added_targets: Mapping[int, int] = field(default_factory=dict)
    target_changes: Mapping[int, int] = field(default_factory=dict)
    skill_order: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """A recent try at an activity (``score`` None while unfinished)."""

    activity_id: int
    at: dt.datetime
    score: float | None
    skill_ids: tuple[int, ...] = ()
    refresher: bool = False


@dataclass(frozen=True, slots=True)
class Reason:
    """Why: a stable machine code, the numbers behind it, and two plain sentences."""

    code: str
    numbers: Mapping[str, Any]
    learner_text: str
    manager_text: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "numbers": dict(self.numbers),
            "learner_text": self.learner_text,
            "manager_text": self.manager_text,
        }


@dataclass(frozen=True, slots=True)
class Recommendation:
    """``kind``: activity | refresher | done | stop (nothing fits or nothing available)."""

    kind: str
    activity_id: int | None
    skill_ids: tuple[int, ...]
    reason: Reason
    minutes: float = 0.0
    runners_up: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "activity_id": self.activity_id,
            "skill_ids": list(self.skill_ids),
            "minutes": self.minutes,
            "runners_up": list(self.runners_up),
            "reason": self.reason.to_dict(),
        }
