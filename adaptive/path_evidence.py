"""Adaptive services: what the evidence says about each skill, for the learner's reasons.

The path page explains each step with real data: a skill known from the placement
check, the last attempts on a skill that failed, when a skill was last practised.
This reads the stored evidence rows once for a learner's skills and summarises them;
it writes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive.models import Attempt, Evidence
from adaptive.pending_evidence import RULE_PLACEMENT, RULE_PLACEMENT_RELATED

# Evidence rows read per learner: the newest ones are all a reason needs.
EVIDENCE_WINDOW = 2000
# An attempt outcome below this is a wrong answer (the attempts' pass share is higher,
# but one wrong answer of two is already a reason to explain it another way).
WRONG_BELOW = 0.5
PLACEMENT_RULES = frozenset({RULE_PLACEMENT, RULE_PLACEMENT_RELATED})
SOURCE_PLACEMENT = "placement"
SOURCE_ATTEMPTS = "attempts"
SOURCE_WORK = "xapi"


@dataclass
class SkillEvidence:
    """One skill's evidence, newest first: where it came from and what it said."""

    skill_id: int
    placed: bool = False
    last_at: dt.datetime | None = None
    # Outcomes of Pathwise's own attempts on the skill, newest first.
    attempt_outcomes: list[float] = field(default_factory=list)
    sources: set[str] = field(default_factory=set)

    @property
    def wrong_in_a_row(self) -> int:
        """How many of the newest attempts on this skill were wrong, in a row."""
        n = 0
        for outcome in self.attempt_outcomes:
            if outcome >= WRONG_BELOW:
                break
            n += 1
        return n

    @property
    def main_source(self) -> str | None:
        """The source a learner would recognise: attempts, then the placement, then work."""
        for source in (SOURCE_ATTEMPTS, SOURCE_PLACEMENT, SOURCE_WORK):
            if source in self.sources:
                return source
        return None


def _source_of(row: Evidence) -> str:
    if row.rule_key in PLACEMENT_RULES:
        return SOURCE_PLACEMENT
    if row.source == "pathwise":
        return SOURCE_ATTEMPTS
    return SOURCE_WORK


def skill_evidence(
    session: Session, *, tenant_id: int, person_id: int, skill_ids: Collection[int]
) -> dict[int, SkillEvidence]:
    """Per skill in ``skill_ids``: placed in the check?, last practised, last outcomes."""
    out = {s: SkillEvidence(skill_id=s) for s in skill_ids}
    if not out:
        return out
    rows = session.scalars(
        select(Evidence)
        .where(
            Evidence.tenant_id == tenant_id,
            Evidence.person_id == person_id,
            Evidence.skill_id.in_(list(out)),
            Evidence.voided.is_(False),
        )
        .order_by(Evidence.occurred_at.desc(), Evidence.id.desc())
        .limit(EVIDENCE_WINDOW)
    )
    for row in rows:
        summary = out[row.skill_id]
        source = _source_of(row)
        summary.sources.add(source)
        if summary.last_at is None:
            summary.last_at = row.occurred_at
        if source == SOURCE_PLACEMENT:
            summary.placed = True
        if source == SOURCE_ATTEMPTS:
            summary.attempt_outcomes.append(row.outcome)
    return out


def attempted_activities(
    session: Session, *, tenant_id: int, person_id: int
) -> frozenset[int]:
    """Every activity the learner has an attempt on (teaching ones leave no evidence)."""
    return frozenset(
        session.scalars(
            select(Attempt.activity_id)
            .where(Attempt.tenant_id == tenant_id, Attempt.person_id == person_id)
            .distinct()
        )
    )
