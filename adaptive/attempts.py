"""Adaptive services: score and record a finished attempt, which is evidence for its skills."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive.core.answers import check_answers, scored_count, share_right
from adaptive.core.catalogue import ActivityInfo, SkillLink
from adaptive.core.engine_learner import apply_attempt
from adaptive.core.item_evidence import item_observations, stored_items
from adaptive.core.refresh import RefreshScheduler
from adaptive.learner_store import load_learner, save_skill
from adaptive.models import (
    Activity,
    ActivitySkill,
    Attempt,
    Evidence,
    Framework,
    Skill,
)
from adaptive.module_snapshots import load_module
from adaptive.pending_evidence import apply_pending_evidence
from adaptive.refreshers import review_refreshers
from adaptive.visibility import NotVisibleError, visible_frameworks


def score_answers(activity: Activity, answers: Sequence[Any]) -> float | None:
    """Share of the activity's scored questions answered correctly (None if it has
    none: a reading, or a scenario the learner only rated themselves on)."""
    return share_right(check_answers(_questions_of(activity), answers))


def _questions_of(activity: Activity) -> list[dict[str, Any]]:
    return [
        q for q in (activity.content or {}).get("questions", []) if isinstance(q, dict)
    ]


def _teach(
    session: Session,
    attempt: Attempt,
    activity: Activity,
    *,
    tenant_id: int,
    module_id: int | None,
) -> None:
    """A finished attempt with no questions is still a learning opportunity: the
    engine's model update (``apply_attempt``) runs on it and the touched skills are
    saved. Without a module the activity alone is the catalogue the update reads."""
    if module_id is None:
        return
    snapshot = load_module(session, tenant_id=tenant_id, module_id=module_id)
    if activity.id not in snapshot.catalog.activities:
        return
    state = load_learner(
        session,
        tenant_id=tenant_id,
        person_id=attempt.person_id,
        n_levels=snapshot.catalog.n_levels,
    )
    apply_pending_evidence(
        session, tenant_id=tenant_id, person_id=attempt.person_id, state=state
    )
    at = attempt.finished_at or attempt.started_at
    apply_attempt(snapshot.catalog, state.model, activity.id, None, at)
    for link in snapshot.catalog.activities[activity.id].skills:
        save_skill(session, state, link.skill_id, evidence_at=at)
    session.flush()


def record_attempt(
    session: Session,
    *,
    tenant_id: int,
    person_id: int,
    activity_id: int,
    answers: Sequence[Any] = (),
    now: dt.datetime,
    started_at: dt.datetime | None = None,
    module_id: int | None = None,
    score: float | None = None,
    reason: Mapping[str, Any] | None = None,
    refresher: bool = False,
) -> Attempt:
    """Record a finished attempt; its score is evidence for every skill it is tagged with.

    A finished attempt on a skill with a refresher card is also an FSRS review.
    """
    activity = session.execute(
        select(Activity)
        .join(Framework, Framework.id == Activity.framework_id)
        .where(Activity.id == activity_id, visible_frameworks(tenant_id))
    ).scalar_one_or_none()
    if activity is None:
        raise NotVisibleError(f"activity {activity_id}")
    final = score if score is not None else score_answers(activity, answers)
    attempt = Attempt(
        tenant_id=tenant_id,
        person_id=person_id,
        activity_id=activity_id,
        module_id=module_id,
        answers=list(answers),
        score=final,
        refresher=refresher,
        reason=dict(reason or {}),
        started_at=started_at or now,
        finished_at=now,
    )
    session.add(attempt)
    session.flush()
    if final is None:
        _teach(session, attempt, activity, tenant_id=tenant_id, module_id=module_id)
        return attempt
    links = session.scalars(
        select(ActivitySkill).where(ActivitySkill.activity_id == activity_id)
    ).all()
    framework = session.get(Framework, activity.framework_id)
    n_levels = len(framework.scale) if framework and framework.scale else 6
    n_items = max(scored_count(_questions_of(activity)), 1)
    groups = [
        (link.skill_id, link.level, min(max(final, 0.0), 1.0), n_items * link.weight)
        for link in links
    ]
    if answers and score is None:
        per_question = _question_groups(
            session, activity, answers, links, n_levels, now
        )
        groups = per_question or groups
    seen: set[int] = set()
    for skill_id, level, outcome, weight in groups:
        # One row per (attempt, skill) keeps its plain id; a skill checked at a
        # second level by some questions gets a row of its own.
        statement = f"attempt:{attempt.id}"
        if skill_id in seen:
            statement += f":level-{level}"
        seen.add(skill_id)
        session.add(
            Evidence(
                tenant_id=tenant_id,
                person_id=person_id,
                skill_id=skill_id,
                outcome=outcome,
                weight=float(weight),
                level=level,
                source="pathwise",
                activity_id=activity_id,
                statement_id=statement,
                occurred_at=now,
            )
        )
    session.flush()
    state = load_learner(
        session, tenant_id=tenant_id, person_id=person_id, n_levels=n_levels
    )
    sched = RefreshScheduler()
    # Only cards that existed before this attempt are reviewed: a card its own
    # evidence starts is not reviewed by the same attempt.
    reviewed = {lk.skill_id: state.refresh.get(lk.skill_id) for lk in links}
    apply_pending_evidence(
        session, tenant_id=tenant_id, person_id=person_id, state=state, scheduler=sched
    )
    review_refreshers(
        session,
        state,
        [skill_id for skill_id, card in reviewed.items() if card is not None],
        score=final,
        at=now,
        scheduler=sched,
    )
    session.flush()
    return attempt


def _question_groups(
    session: Session,
    activity: Activity,
    answers: Sequence[Any],
    links: Sequence[ActivitySkill],
    n_levels: int,
    at: dt.datetime,
) -> list[tuple[int, int, float, float]]:
    """(skill, level, share right, weight) per group of questions with their own
    skill or level, as the engine groups them (``item_observations``); empty when
    none has one. An unanswered question counts as wrong, as in ``score_answers``.
    (Evidence rows carry no difficulty: the activity's applies, as for any row.)"""
    questions = _questions_of(activity)
    tags = tuple(
        SkillLink(lk.skill_id, lk.weight, lk.level)
        for lk in sorted(links, key=lambda lk: -lk.weight)
    )
    if not tags or not any(
        q.get(name) is not None for q in questions for name in ("skill", "level")
    ):
        return []
    skill_by_key = {
        str(key): int(skill_id)
        for key, skill_id in session.execute(
            select(Skill.key, Skill.id).where(
                Skill.framework_id == activity.framework_id
            )
        )
    }
    items = stored_items(
        questions,
        tags,
        skill_by_key,
        target_level=activity.target_level,
        difficulty=activity.difficulty,
    )
    info = ActivityInfo(
        id=activity.id, key=activity.key, title=activity.title, skills=tags, items=items
    )
    # An unscored question (a scenario's self-rating) is no observation at all.
    responses = {
        i: right
        for i, right in enumerate(check_answers(questions, answers))
        if right is not None
    }
    merged: dict[tuple[int, int], tuple[float, float]] = {}
    for obs in item_observations(
        info, responses, at, top_level=n_levels - 1, learn_scale=1.0, taught=frozenset()
    ):
        right, weight = merged.get((obs.skill_id, obs.level), (0.0, 0.0))
        merged[(obs.skill_id, obs.level)] = (
            right + obs.outcome * obs.weight,
            weight + obs.weight,
        )
    return [
        (skill_id, level, right / weight if weight else 0.0, weight)
        for (skill_id, level), (right, weight) in merged.items()
    ]
