"""Adaptive services: score and record a finished attempt, which is evidence for its skills."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive.core.answers import check_answers, share_right
from adaptive.core.catalogue import Catalog, SkillInfo
from adaptive.core.engine_learner import attempt_observations, taught_by, teach_attempt
from adaptive.core.module_catalogue import authored_activity
from adaptive.core.refresh import RefreshScheduler
from adaptive.learner_store import load_learner, save_skill
from adaptive.models import (
    Activity,
    ActivitySkill,
    Attempt,
    Framework,
    Skill,
)
from adaptive.module_snapshots import activity_info, activity_questions, load_module
from adaptive.pending_evidence import apply_pending_evidence, observation_row
from adaptive.refreshers import review_refreshers
from adaptive.visibility import NotVisibleError, visible_frameworks


def score_answers(activity: Activity, answers: Sequence[Any]) -> float | None:
    """Share of the activity's scored questions answered correctly (None if it has
    none: a reading, or a scenario the learner only rated themselves on)."""
    return share_right(check_answers(activity_questions(activity), answers))


def _catalogue_of(
    session: Session, activity: Activity, *, tenant_id: int, module_id: int | None
) -> Catalog:
    """The catalogue the attempt is judged in: its module's snapshot, the one its
    decisions read; with no module (or an activity outside it), the activity alone,
    built by the same rules."""
    if module_id is not None:
        snapshot = load_module(session, tenant_id=tenant_id, module_id=module_id)
        if activity.id in snapshot.catalog.activities:
            return snapshot.catalog
    framework = session.get(Framework, activity.framework_id)
    skills = session.scalars(
        select(Skill).where(Skill.framework_id == activity.framework_id)
    ).all()
    links = session.scalars(
        select(ActivitySkill).where(ActivitySkill.activity_id == activity.id)
    ).all()
    authored = authored_activity(
        activity_info(activity, links),
        activity_questions(activity),
        {s.key: s.id for s in skills},
    )
    kwargs: dict[str, Any] = {}
    if framework is not None and framework.scale:
        kwargs["scale"] = tuple(framework.scale)
    return Catalog.build(
        [SkillInfo(s.id, s.key, s.name, s.framework_id) for s in skills],
        [authored.info],
        **kwargs,
    )


def _answered(
    questions: Sequence[Mapping[str, Any]], answers: Sequence[Any]
) -> dict[int, bool]:
    """Right or wrong per answered scored question, by index: an unanswered question
    says nothing about the learner, and a scenario's self-rating is no observation."""
    return {
        i: right
        for i, right in enumerate(check_answers(questions, answers))
        if right is not None and i < len(answers) and answers[i] is not None
    }


def _earlier_activities(
    session: Session, *, tenant_id: int, person_id: int, before: int
) -> list[int]:
    return list(
        session.scalars(
            select(Attempt.activity_id)
            .where(
                Attempt.tenant_id == tenant_id,
                Attempt.person_id == person_id,
                Attempt.id != before,
            )
            .distinct()
        )
    )


def _teach(
    session: Session,
    attempt: Attempt,
    catalog: Catalog,
    *,
    tenant_id: int,
) -> None:
    """A finished attempt with no observation is still a learning opportunity: the
    engine's model update (``teach_attempt``) runs on it and the touched skills are
    saved."""
    state = load_learner(
        session,
        tenant_id=tenant_id,
        person_id=attempt.person_id,
        n_levels=catalog.n_levels,
    )
    apply_pending_evidence(
        session, tenant_id=tenant_id, person_id=attempt.person_id, state=state
    )
    at = attempt.finished_at or attempt.started_at
    teach_attempt(catalog, state.model, attempt.activity_id, at)
    for link in catalog.activities[attempt.activity_id].skills:
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
    earlier: Collection[int] | None = None,
) -> Attempt:
    """Record a finished attempt; what it says is evidence for the skills it measured.

    The evidence is the engine's own observation of the attempt
    (``attempt_observations``, as ``Engine.record_attempt`` applies it): per question
    group when the questions carry their own tags, at each group's difficulty and
    fitted values, with the kind's learning, and out of the cross-skill ability for
    a skill already taught. An attempt with nothing to observe (a lesson, a
    self-rated scenario) is teaching. A finished attempt on a skill with a refresher
    card is also an FSRS review. ``earlier`` is the activities of the learner's
    earlier attempts when the caller has read them (else they are read here).
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
    catalog = _catalogue_of(session, activity, tenant_id=tenant_id, module_id=module_id)
    responses = (
        _answered(activity_questions(activity), answers) if score is None else {}
    )
    observed = score if score is not None else share_right(list(responses.values()))
    taught = taught_by(
        catalog,
        _earlier_activities(
            session, tenant_id=tenant_id, person_id=person_id, before=attempt.id
        )
        if earlier is None
        else earlier,
    )
    observations = attempt_observations(
        catalog,
        activity_id,
        observed,
        now,
        top_level=catalog.n_levels - 1,
        taught=taught,
        responses=responses or None,
    )
    if observations is None or final is None:
        _teach(session, attempt, catalog, tenant_id=tenant_id)
        return attempt
    seen: set[int] = set()
    for index, obs in enumerate(observations):
        # One row per (attempt, skill) keeps its plain id; a skill observed again (at
        # a second level or difficulty) gets a row of its own.
        statement = f"attempt:{attempt.id}"
        if obs.skill_id in seen:
            statement += f":{index}"
        seen.add(obs.skill_id)
        session.add(
            observation_row(
                obs,
                tenant_id=tenant_id,
                person_id=person_id,
                activity_id=activity_id,
                statement_id=statement,
            )
        )
    session.flush()
    state = load_learner(
        session, tenant_id=tenant_id, person_id=person_id, n_levels=catalog.n_levels
    )
    sched = RefreshScheduler()
    # Only cards that existed before this attempt are reviewed: a card its own
    # evidence starts is not reviewed by the same attempt.
    skill_ids = [lk.skill_id for lk in catalog.activities[activity_id].skills]
    reviewed = {skill_id: state.refresh.get(skill_id) for skill_id in skill_ids}
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
