"""Pure: the engine's placement methods, a short adaptive check that only feeds the model.

:class:`PlacementMixin` is one base of ``adaptive.core.engine.Engine`` (the engine
API); its answers are evidence at the question's level, never attempts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import replace

from adaptive.core.catalogue import Catalog
from adaptive.core.engine_learner import Learner, effective_targets
from adaptive.core.learner_types import Observation
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


class PlacementMixin:
    """Placement over the engine's catalogue; ``Engine.__init__`` sets the attributes."""

    catalog: Catalog
    placement_config: PlacementConfig
    _probe_table: ProbeTable | None
    _probe_source: Iterable[Probe] | None

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
            effective_targets(learner),
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
