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

Where the pieces live: the placement methods in ``adaptive.core.engine_placement``
(a base of :class:`Engine`), :class:`Learner` and the attempt update in
``adaptive.core.engine_learner``, the catalogue builder in
``adaptive.core.engine_catalogue`` (its rules, shared with the stored module's
snapshot, in ``adaptive.core.module_catalogue``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

from adaptive.core.catalogue import CHECK_KINDS, Catalog
from adaptive.core.catalogue_format import CatalogueDoc
from adaptive.core.decisions import AttemptRecord, Overrides, Reason, Recommendation
from adaptive.core.engine_catalogue import document_catalogue
from adaptive.core.engine_learner import (
    Learner,
    apply_attempt,
    effective_targets,
    taught_skills,
)
from adaptive.core.engine_placement import PlacementMixin
from adaptive.core.item_evidence import response_map
from adaptive.core.learner import LearnerModel
from adaptive.core.learner_types import ParamSet, SkillEstimate
from adaptive.core.mastery import MasteryConfig, decide
from adaptive.core.placement import PlacementConfig, Probe, ProbeTable


class Engine(PlacementMixin):
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
        """``probes`` default to the catalogue's placement items (``adaptive.core.placement.catalogue_probes``)."""
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

    @classmethod
    def from_document(cls, doc: CatalogueDoc, **kwargs: object) -> Engine:
        """The engine over a document as a stored module of it would be built: no
        placement item among the path steps, the module's placement probes."""
        built = document_catalogue(doc)
        kwargs.setdefault("probes", built.probes)
        return cls(built.catalog, **kwargs)  # type: ignore[arg-type]

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

    def is_check(self, activity_id: int) -> bool:
        activity = self.catalog.activities.get(activity_id)
        return (
            activity is not None
            and activity.kind in CHECK_KINDS
            and activity.n_items > 0
        )

    @staticmethod
    def _targets(learner: Learner) -> dict[int, int]:
        return effective_targets(learner)
