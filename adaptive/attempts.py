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
from adaptive.learner_store import LearnerState, load_learner, save_skill
from adaptive.models import (
    Activity,
    ActivitySkill,
    Attempt,
    Framework,
    Skill,
)
from adaptive.module_snapshots import (
    activity_info,
    activity_questions,
    load_module,
    snapshot_questions,
)
from adaptive.pending_evidence import apply_pending_evidence, observation_row
from adaptive.refreshers import review_refreshers
from adaptive.visibility import NotVisibleError, visible_frameworks


def _judged_in(
    session: Session, *, tenant_id: int, activity_id: int, module_id: int | None
) -> tuple[Catalog, list[Mapping[str, Any]]]:
    """The catalogue the attempt is judged in, and the activity's questions.

    Its module's snapshot, the one its decisions read, when the activity is in it:
    the snapshot was built from the visible rows under this transaction's catalogue
    revision, so the activity's row is not read again. With no module (or an
    activity outside it), the activity alone, built by the same rules.

    Raises:
        NotVisibleError: the activity (or the module) is not the tenant's to read.
    """
    if module_id is not None:
        snapshot = load_module(session, tenant_id=tenant_id, module_id=module_id)
        if activity_id in snapshot.catalog.activities:
            return snapshot.catalog, snapshot_questions(snapshot, activity_id)
    activity = session.execute(
        select(Activity)
        .join(Framework, Framework.id == Activity.framework_id)
        .where(Activity.id == activity_id, visible_frameworks(tenant_id))
    ).scalar_one_or_none()
    if activity is None:
        raise NotVisibleError(f"activity {activity_id}")
    return _activity_catalogue(session, activity), list(activity_questions(activity))


def _activity_catalogue(session: Session, activity: Activity) -> Catalog:
    """A catalogue of the activity alone, with its framework's skills and scale."""
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


def _learner(
    session: Session,
    catalog: Catalog,
    *,
    tenant_id: int,
    person_id: int,
    state: LearnerState | None,
) -> LearnerState:
    """The caller's loaded learner (at the catalogue's scale), else loaded here."""
    if state is None:
        return load_learner(
            session, tenant_id=tenant_id, person_id=person_id, n_levels=catalog.n_levels
        )
    if state.model.n_levels != catalog.n_levels:
        raise ValueError("the learner was loaded at another scale than the attempt's")
    return state


def _teach(
    session: Session,
    attempt: Attempt,
    catalog: Catalog,
    *,
    tenant_id: int,
    state: LearnerState | None,
) -> None:
    """A finished attempt with no observation is still a learning opportunity: the
    engine's model update (``teach_attempt``) runs on it and the touched skills are
    saved."""
    state = _learner(
        session, catalog, tenant_id=tenant_id, person_id=attempt.person_id, state=state
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
    state: LearnerState | None = None,
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
    ``state`` is the learner as the caller has just loaded it, at the scale of the
    catalogue the attempt is judged in: it is updated in place (and saved), so the
    caller can go on from it without reading the learner again.
    """
    catalog, questions = _judged_in(
        session, tenant_id=tenant_id, activity_id=activity_id, module_id=module_id
    )
    final = (
        score if score is not None else share_right(check_answers(questions, answers))
    )
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
    responses = _answered(questions, answers) if score is None else {}
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
        _teach(session, attempt, catalog, tenant_id=tenant_id, state=state)
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
    state = _learner(
        session, catalog, tenant_id=tenant_id, person_id=person_id, state=state
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
