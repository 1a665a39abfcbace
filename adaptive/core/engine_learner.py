"""Pure: the learner as the engine sees them, their targets and how an attempt updates them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from adaptive.core.catalogue import CHECK_KINDS, Catalog
from adaptive.core.decisions import AttemptRecord, Overrides
from adaptive.core.item_evidence import item_observations
from adaptive.core.learner import LearnerModel
from adaptive.core.learner_types import Observation
from adaptive.core.mastery import KIND_TEACHING


@dataclass
class Learner:
    """One learner as the engine sees them: targets, model and attempt history."""

    targets: dict[int, int]
    model: LearnerModel
    history: list[AttemptRecord] = field(default_factory=list)
    overrides: Overrides = field(default_factory=Overrides)


def effective_targets(learner: Learner) -> dict[int, int]:
    """The learner's targets after their overrides (changed, added, skipped)."""
    out = dict(learner.targets)
    ovr = learner.overrides
    for s, t in ovr.target_changes.items():
        if t <= 0:
            out.pop(s, None)
        else:
            out[s] = t
    for s, t in ovr.added_targets.items():
        out[s] = max(out.get(s, 0), t)
    for s in ovr.skipped_skills:
        out.pop(s, None)
    return out


def attempt_observations(
    catalog: Catalog,
    activity_id: int,
    score: float | None,
    at: dt.datetime,
    *,
    top_level: int,
    taught: frozenset[int] = frozenset(),
    responses: Mapping[int, bool] | None = None,
) -> list[Observation] | None:
    """What one finished attempt says, or ``None`` when it is teaching only.

    With a score, each tagged skill gets evidence at its level (weighted by the number
    of questions and the tag weight) and the kind's learning; when the questions carry
    their own tags (``ActivityInfo.items``) and per-question ``responses`` are given,
    the answers are evidence on each question's own skill and level instead. Answers
    on a skill in ``taught`` (already taught to this learner) do not move the
    cross-skill ability. The stored attempt (``adaptive.attempts``) writes exactly
    these as its evidence rows.
    """
    activity = catalog.activities.get(activity_id)
    if activity is None:
        return []
    scale = KIND_TEACHING.get(activity.kind, 1.0)
    if activity.items and responses:
        return item_observations(
            activity,
            responses,
            at,
            top_level=top_level,
            learn_scale=scale,
            taught=taught,
        )
    if score is None or activity.n_items <= 0:
        return None
    return [
        Observation(
            skill_id=link.skill_id,
            level=min(max(link.level, 1), top_level),
            outcome=min(max(score, 0.0), 1.0),
            at=at,
            weight=float(activity.n_items) * link.weight,
            difficulty=activity.difficulty,
            learn_scale=scale,
            ability_scale=0.0 if link.skill_id in taught else 1.0,
        )
        for link in activity.skills
    ]


def apply_attempt(
    catalog: Catalog,
    model: LearnerModel,
    activity_id: int,
    score: float | None,
    at: dt.datetime,
    *,
    taught: frozenset[int] = frozenset(),
    responses: Mapping[int, bool] | None = None,
) -> None:
    """Fold one finished attempt into the model (``attempt_observations``).

    An attempt with no observation (a lesson, a worked example, external content)
    gives each tagged skill a learning opportunity, crossing any levels that have no
    content below the tag.
    """
    top = model.n_levels - 1
    observations = attempt_observations(
        catalog,
        activity_id,
        score,
        at,
        top_level=top,
        taught=taught,
        responses=responses,
    )
    if observations is None:
        teach_attempt(catalog, model, activity_id, at)
        return
    for observation in observations:
        model.observe(observation)


def teach_attempt(
    catalog: Catalog, model: LearnerModel, activity_id: int, at: dt.datetime
) -> None:
    """A learning opportunity with no observation on each of the activity's skills."""
    activity = catalog.activities.get(activity_id)
    if activity is None:
        return
    scale = KIND_TEACHING.get(activity.kind, 1.0)
    if scale <= 0.0:
        return
    top = model.n_levels - 1
    for link in activity.skills:
        level = min(max(link.level, 1), top)
        lower = [lv for lv in catalog.content.teach_levels(link.skill_id) if lv < level]
        model.teach(
            link.skill_id,
            level,
            at,
            scale=scale * min(link.weight, 1.0),
            lowest=lower[-1] if lower else 0,
        )


def taught_skills(catalog: Catalog, history: Sequence[AttemptRecord]) -> frozenset[int]:
    """Skills the learner has been taught (any non-check attempt tagged with them)."""
    return taught_by(catalog, (attempt.activity_id for attempt in history))


def taught_by(catalog: Catalog, activity_ids: Iterable[int]) -> frozenset[int]:
    """Skills taught by any of ``activity_ids`` that is not a check."""
    out: set[int] = set()
    for activity_id in activity_ids:
        activity = catalog.activities.get(activity_id)
        if activity is not None and not (
            activity.kind in CHECK_KINDS and activity.n_items > 0
        ):
            out.update(link.skill_id for link in activity.skills)
    return frozenset(out)
