"""Pure: the engine API, the one in-process entry the services and the benches call.

Usage (stable; new arguments only ever come as keyword arguments with defaults)::

    engine = Engine(catalog)                      # or Engine.from_document(doc)
    learner = engine.start(targets={skill_id: level, ...})
    step = engine.next_step(learner, now)         # activity | refresher | done | blocked
    engine.record_attempt(learner, step.activity_id, responses=[True, False],
                          minutes=6.0, at=now)
    engine.skill_estimates(learner, now)          # one SkillEstimate per target

    # Placement (optional, before the first step): a short adaptive check.
    placement = engine.start_placement(learner)   # or budget=..., asked=[...]
    step = engine.placement_step(learner, placement, now)   # a question, or done
    engine.answer_placement(learner, placement, step.choice.probe.ref,
                            correct=True, at=now)  # evidence, no history

The database-backed services load a :class:`Learner` from their rows (model, attempt
history, overrides), call the same methods and save the model back, so a simulation
runs exactly the production decision path. Decisions are the mastery loop of
``adaptive.core.mastery``; model updates go through :func:`apply_attempt`, where every
attempt is a learning opportunity (a lesson with no questions included).

Placement (``adaptive.core.placement``) only feeds the learner model: its answers are
evidence at the question's level, never attempts, so the mastery loop still verifies
every target with its own check and placement can only let it skip teaching of levels
the model is confident of.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from adaptive.core.catalogue import (
    CHECK_KINDS,
    ActivityInfo,
    Catalog,
    ItemInfo,
    SkillInfo,
    SkillLink,
)
from adaptive.core.catalogue_format import CatalogueDoc
from adaptive.core.item_evidence import item_observations, response_map
from adaptive.core.learner import LearnerModel
from adaptive.core.learner_types import Observation, ParamSet, SkillEstimate
from adaptive.core.mastery import KIND_TEACHING, MasteryConfig, decide
from adaptive.core.placement import (
    Placement,
    PlacementConfig,
    PlacementStep,
    Probe,
    ProbeTable,
    catalogue_probes,
    next_placement_step,
    placement_observation,
    related_observations,
)
from adaptive.core.policy import AttemptRecord, Overrides, Reason, Recommendation


@dataclass
class Learner:
    """One learner as the engine sees them: targets, model and attempt history."""

    targets: dict[int, int]
    model: LearnerModel
    history: list[AttemptRecord] = field(default_factory=list)
    overrides: Overrides = field(default_factory=Overrides)


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
    """Fold one finished attempt into the model.

    With a score, each tagged skill gets evidence at its level (weighted by the number
    of questions and the tag weight) plus the kind's learning; without one (a lesson,
    a worked example, external content) each tagged skill gets a learning opportunity
    with no observation, crossing any levels that have no content below the tag.
    Answers on a skill in ``taught`` (already taught to this learner) do not move
    the cross-skill ability. When the questions carry their own tags
    (``ActivityInfo.items``) and per-question ``responses`` are given, the answers
    are evidence on each question's own skill and level instead.
    """
    activity = catalog.activities.get(activity_id)
    if activity is None:
        return
    scale = KIND_TEACHING.get(activity.kind, 1.0)
    content = catalog.content
    top = model.n_levels - 1
    if activity.items and responses:
        for observation in item_observations(
            activity, responses, at, top_level=top, learn_scale=scale, taught=taught
        ):
            model.observe(observation)
        return
    for link in activity.skills:
        level = min(max(link.level, 1), top)
        if score is not None and activity.n_items > 0:
            model.observe(
                Observation(
                    skill_id=link.skill_id,
                    level=level,
                    outcome=min(max(score, 0.0), 1.0),
                    at=at,
                    weight=float(activity.n_items) * link.weight,
                    difficulty=activity.difficulty,
                    learn_scale=scale,
                    ability_scale=0.0 if link.skill_id in taught else 1.0,
                )
            )
        elif scale > 0.0:
            lower = [lv for lv in content.teach_levels(link.skill_id) if lv < level]
            model.teach(
                link.skill_id,
                level,
                at,
                scale=scale * min(link.weight, 1.0),
                lowest=lower[-1] if lower else 0,
            )


def taught_skills(catalog: Catalog, history: Sequence[AttemptRecord]) -> frozenset[int]:
    """Skills the learner has been taught (any non-check attempt tagged with them)."""
    out: set[int] = set()
    for attempt in history:
        activity = catalog.activities.get(attempt.activity_id)
        if activity is not None and not (
            activity.kind in CHECK_KINDS and activity.n_items > 0
        ):
            out.update(link.skill_id for link in activity.skills)
    return frozenset(out)


def catalog_from_document(doc: CatalogueDoc) -> tuple[Catalog, dict[str, int]]:
    """A decision-ready catalogue from a parsed document, ids numbered from 1.

    Returns the catalogue and the key -> id map of skills, activities and roles
    (prefixed ``skill:``, ``activity:``, ``role:``) so callers can translate back.
    """
    ids: dict[str, int] = {}
    skills = []
    for i, s in enumerate(doc.skills, start=1):
        ids[f"skill:{s.key}"] = i
        skills.append(SkillInfo(id=i, key=s.key, name=s.name))
    edges = [
        (ids[f"skill:{s.key}"], ids[f"skill:{p}"])
        for s in doc.skills
        for p in s.prerequisites
    ]
    activities = []
    for j, a in enumerate(doc.activities, start=1):
        ids[f"activity:{a.key}"] = j
        activities.append(
            ActivityInfo(
                id=j,
                key=a.key,
                title=a.title,
                kind=a.type,
                duration_min=a.duration_min,
                difficulty=a.difficulty,
                target_level=a.target_level,
                explanation_group=a.explanation_group,
                skills=tuple(
                    SkillLink(ids[f"skill:{t.skill}"], t.weight, t.level)
                    for t in a.skills
                ),
                n_items=len(a.questions),
                items=tuple(
                    ItemInfo(ids[f"skill:{q.skill}"], q.level, q.difficulty)
                    for q in a.question_tags()
                ),
            )
        )
    for k, r in enumerate(doc.roles, start=1):
        ids[f"role:{r.key}"] = k
    order = [ids[f"activity:{a}"] for m in doc.modules[:1] for a in m.activities]
    catalog = Catalog.build(
        skills, activities, edges, scale=doc.framework.scale, module_order=order
    )
    return catalog, ids


class Engine:
    """The pure engine over one catalogue (build once per catalogue, reuse)."""

    def __init__(
        self,
        catalog: Catalog,
        *,
        params: ParamSet | None = None,
        config: MasteryConfig | None = None,
        probes: ProbeTable | Iterable[Probe] | None = None,
        placement: PlacementConfig | None = None,
    ) -> None:
        """``probes`` default to the catalogue's placement items (:func:`catalogue_probes`)."""
        self.catalog = catalog
        self.params = params or ParamSet()
        self.config = config or MasteryConfig()
        self.placement_config = placement or PlacementConfig()
        self._probe_table: ProbeTable | None = None
        self._probe_source: Iterable[Probe] | None = None
        if isinstance(probes, ProbeTable):
            self._probe_table = probes
        else:
            self._probe_source = probes

    @property
    def probes(self) -> ProbeTable:
        """The placement questions, built on first use (a decision never needs them)."""
        table = self._probe_table
        if table is None:
            source = self._probe_source
            table = ProbeTable.build(
                catalogue_probes(self.catalog) if source is None else source
            )
            self._probe_table = table
        return table

    @classmethod
    def from_document(cls, doc: CatalogueDoc, **kwargs: object) -> Engine:
        catalog, _ = catalog_from_document(doc)
        return cls(catalog, **kwargs)  # type: ignore[arg-type]

    def start(
        self,
        targets: Mapping[int, int],
        *,
        model: LearnerModel | None = None,
        history: Sequence[AttemptRecord] = (),
        overrides: Overrides | None = None,
    ) -> Learner:
        """A learner on a role's (or module's) targets, fresh or from stored state."""
        return Learner(
            targets={s: t for s, t in targets.items() if t > 0},
            model=model
            or LearnerModel(n_levels=self.catalog.n_levels, params=self.params),
            history=list(history),
            overrides=overrides or Overrides(),
        )

    def next_step(
        self,
        learner: Learner,
        now: dt.datetime,
        *,
        time_budget_min: float | None = None,
    ) -> Recommendation:
        """An activity for an unmet target, a refresher, "done" or "blocked".

        A session with no time left gets "stop" (``time_budget_exhausted``): it is
        the session's end, not the learner's.
        """
        rec = decide(
            self.catalog,
            learner.model,
            self._targets(learner),
            learner.history,
            now,
            overrides=learner.overrides,
            config=self.config,
        )
        if time_budget_min is not None and (
            time_budget_min <= 0 or rec.minutes > time_budget_min + 1e-9
        ):
            return Recommendation(
                kind="stop",
                activity_id=None,
                skill_ids=(),
                reason=Reason(
                    code="time_budget_exhausted",
                    numbers={
                        "time_budget_min": time_budget_min,
                        "next_activity_min": rec.minutes,
                    },
                    learner_text="That is all the time you set for today.",
                    manager_text="The next step does not fit the session's time.",
                ),
            )
        return rec

    def record_attempt(
        self,
        learner: Learner,
        activity_id: int,
        *,
        at: dt.datetime,
        responses: Sequence[bool] | Mapping[int, bool] | None = None,
        score: float | None = None,
        minutes: float | None = None,
        refresher: bool = False,
    ) -> AttemptRecord:
        """Record a finished attempt: update the model and the history.

        ``responses`` are the answers in question order, or keyed by question index
        (0-based, as in the catalogue); questions with their own tags are evidence on
        their own skill and level. ``score`` wins over ``responses`` for the
        activity's score (share correct); with neither, the attempt is teaching
        only. ``minutes`` is kept for reports; the clock is ``at``.
        """
        answers = response_map(responses)
        if score is None and answers:
            score = sum(1 for r in answers.values() if r) / len(answers)
        apply_attempt(
            self.catalog,
            learner.model,
            activity_id,
            score,
            at,
            taught=taught_skills(self.catalog, learner.history),
            responses=answers or None,
        )
        activity = self.catalog.activities.get(activity_id)
        record = AttemptRecord(
            activity_id=activity_id,
            at=at,
            score=score,
            skill_ids=tuple(lk.skill_id for lk in activity.skills) if activity else (),
            refresher=refresher,
        )
        learner.history.append(record)
        return record

    def skill_estimates(
        self, learner: Learner, now: dt.datetime
    ) -> list[SkillEstimate]:
        """The model's estimate of each targeted skill against its target."""
        return [
            learner.model.estimate(s, t, now) for s, t in self._targets(learner).items()
        ]

    # -- placement: a short adaptive check that only feeds the learner model --

    def start_placement(
        self,
        learner: Learner,
        *,
        budget: int | None = None,
        asked: Sequence[str] = (),
        answers: Sequence[bool] = (),
    ) -> Placement:
        """A placement check for ``learner``, or one resumed from ``asked`` (refs
        already answered) and their ``answers`` (right or not, in order)."""
        return Placement(
            budget=self.placement_config.budget if budget is None else budget,
            asked=list(asked),
            answers=list(answers),
        )

    def placement_step(
        self, learner: Learner, placement: Placement, now: dt.datetime
    ) -> PlacementStep:
        """The next question (``step.choice.probe``), or "finished" with its stop code.

        Covers the learner's targets (after overrides); a finished placement stays
        finished. The chosen question becomes ``placement.pending``.
        """
        if placement.done:
            return PlacementStep(
                None, placement.stop_code, {"asked": len(placement.asked)}
            )
        step = next_placement_step(
            learner.model,
            self.probes,
            self._targets(learner),
            now,
            asked=placement.asked,
            answers=placement.answers,
            config=replace(self.placement_config, budget=placement.budget),
        )
        if step.choice is None:
            placement.pending = None
            placement.stop_code = step.stop_code
        else:
            placement.pending = step.choice.probe.ref
        return step

    def placement_evidence(
        self, ref: str, correct: bool, at: dt.datetime
    ) -> list[Observation]:
        """What one placement answer says: its skill at the question's level, then,
        more weakly, its related skills (see ``related_observations``)."""
        probe = self.probes.get(ref)
        if probe is None:
            raise ValueError(f"{ref!r} is not a placement question of this catalogue")
        return [
            placement_observation(probe, correct, at),
            *related_observations(
                self.catalog.graph,
                probe,
                correct,
                at,
                n_levels=self.catalog.n_levels,
                weight=self.placement_config.related_weight,
            ),
        ]

    def answer_placement(
        self,
        learner: Learner,
        placement: Placement,
        ref: str,
        *,
        correct: bool,
        at: dt.datetime,
    ) -> list[Observation]:
        """Fold the answer to the pending question into the model (not the history).

        Returns the observations applied, so a service can store them as evidence.

        Raises:
            ValueError: ``ref`` is not the pending question.
        """
        if placement.done or placement.pending != ref:
            raise ValueError(
                f"question {ref!r} is not the one pending in this placement"
            )
        observations = self.placement_evidence(ref, correct, at)
        for obs in observations:
            learner.model.observe(obs)
        placement.asked.append(ref)
        placement.answers.append(correct)
        placement.pending = None
        return observations

    def is_check(self, activity_id: int) -> bool:
        activity = self.catalog.activities.get(activity_id)
        return (
            activity is not None
            and activity.kind in CHECK_KINDS
            and activity.n_items > 0
        )

    @staticmethod
    def _targets(learner: Learner) -> dict[int, int]:
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
