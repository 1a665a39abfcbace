"""xAPI: mastery-change statements, one per crossing of the role target, never repeated.

The engine's status for a skill says whether the learner is at their role's target
(``DONE_STATUSES``). Each time that flips, and only then, the LRS hears of it: a
``mastered`` statement when the target is reached, a ``lapsed`` one when the estimate
falls below it again. ``MasteryMark`` remembers what was said, and the crossing's
number is part of the statement's key, so recomputing adds nothing to the outbox.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from adaptive.core.decisions import DONE_STATUSES, STATUS_SKIPPED
from lti_tool.infra.models import Person
from xapi.core import profile
from xapi.core.statements import ActivityRef, ResultSpec
from xapi.journey_models import MasteryMark
from xapi.models import OutboxStatement
from xapi.outbox import emit_statement


@dataclass(frozen=True)
class SkillStanding:
    """One target skill as the engine now sees it, with the skill's xAPI activity."""

    skill_id: int
    skill: ActivityRef
    status: str
    level: int
    target: int
    p_target: float


@dataclass(frozen=True)
class MasteryContext:
    """Where the statements belong: the module attempt, the course, the module."""

    module_id: int
    registration: str
    course: ActivityRef | None
    parent: ActivityRef | None


def announce_mastery_changes(
    session: Session,
    *,
    person: Person,
    standings: Sequence[SkillStanding],
    where: MasteryContext,
    now: dt.datetime,
) -> list[OutboxStatement]:
    """Emit a statement for each skill whose mastery differs from what was announced.

    A skill a manager set aside (``skipped``) is neither mastered nor lapsed: it is
    left as it was. A skill never mastered needs no statement (nor a mark).

    Returns:
        The outbox rows of the statements emitted by this call (usually none).
    """
    marks = {
        m.skill_id: m
        for m in session.scalars(
            select(MasteryMark).where(
                MasteryMark.person_id == person.id,
                MasteryMark.module_id == where.module_id,
            )
        )
    }
    emitted: list[OutboxStatement] = []
    for standing in standings:
        if standing.status == STATUS_SKIPPED:
            continue
        mastered = standing.status in DONE_STATUSES
        mark = marks.get(standing.skill_id)
        if mark is None:
            if not mastered:
                continue
            mark = _new_mark(session, person=person, where=where, standing=standing)
            if mark is None:
                continue  # a concurrent request marked it first, and announced it
        elif mark.mastered == mastered:
            continue
        mark.mastered = mastered
        mark.changes += 1
        mark.changed_at = now
        emitted.append(_emit(session, person, standing, where, mark.changes, now))
    session.flush()
    return emitted


def _new_mark(
    session: Session,
    *,
    person: Person,
    where: MasteryContext,
    standing: SkillStanding,
) -> MasteryMark | None:
    """Insert the first mark; None when another transaction inserted it meanwhile."""
    mark = MasteryMark(
        tenant_id=person.tenant_id,
        person_id=person.id,
        module_id=where.module_id,
        skill_id=standing.skill_id,
        mastered=False,
        changes=0,
    )
    try:
        with session.begin_nested():
            session.add(mark)
            session.flush()
    except IntegrityError:
        return None
    return mark


def _emit(
    session: Session,
    person: Person,
    standing: SkillStanding,
    where: MasteryContext,
    change: int,
    now: dt.datetime,
) -> OutboxStatement:
    mastered = standing.status in DONE_STATUSES
    return emit_statement(
        session,
        person=person,
        key=(
            f"mastery:{person.tenant_id}:{person.id}:{where.module_id}:"
            f"{standing.skill_id}:{change}"
        ),
        verb="mastered" if mastered else "lapsed",
        object=standing.skill,
        timestamp=now,
        result=ResultSpec(
            success=mastered,
            score_scaled=max(0.0, min(1.0, standing.p_target)),
            extensions={
                profile.EXT_LEVEL: standing.level,
                profile.EXT_TARGET_LEVEL: standing.target,
                profile.EXT_MASTERY: round(standing.p_target, 4),
            },
        ),
        registration=where.registration,
        course=where.course,
        parent=where.parent,
    )
