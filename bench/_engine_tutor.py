"""The Pathwise engine as a bench tutor: a thin adapter over ``adaptive.core.engine``.

It translates catalogue keys to the engine's ids and the driver's minute clock to
datetimes; every decision and model update is the engine's own (the production path).

With ``placement`` (the default) the learner first takes the engine's placement check
(``Engine.start_placement`` / ``placement_step`` / ``answer_placement``, as
``adaptive.placement_sessions`` calls them). The driver's steps are whole activities,
and a placement question is exactly one: a catalogue ``placement_item`` holds one
question and takes its one minute, so each placement step is that activity, taken and
answered by the learner like any other (its minutes count). Quiz questions are never
placement questions here: a quiz is the mastery loop's check.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from adaptive.core.catalogue import Catalog
from adaptive.core.catalogue_parse import parse_catalogue
from adaptive.core.engine import Engine
from adaptive.core.engine_catalogue import document_catalogue
from adaptive.core.engine_learner import Learner
from adaptive.core.mastery import KIND_ACTIVITY, KIND_DONE, KIND_REFRESHER
from adaptive.core.placement import Placement, ProbeTable
from bench._item_refit import ResponseLog
from bench._reference_tutors import (
    BLOCKED,
    DONE,
    Response,
    Step,
    TutorContext,
    TutorState,
    take,
)

EPOCH = dt.datetime(2025, 1, 6, tzinfo=dt.UTC)


@dataclass
class _Built:
    doc: Mapping[str, Any]
    catalog: Catalog  # the authors' values
    probes: ProbeTable  # the module's placement questions
    engine: Engine  # with the latest refit's values (``bench._item_refit``)
    ids: dict[str, int]
    keys: list[str]
    log: ResponseLog = field(default_factory=ResponseLog)


_ENGINES: dict[int, _Built] = {}


def _engine_for(doc: Mapping[str, Any]) -> _Built:
    """One engine per catalogue document (the driver shares the dict between runs);
    refitted from the answers so far when a retrain is due."""
    found = _ENGINES.get(id(doc))
    if found is None or found.doc is not doc:
        parsed = parse_catalogue(json.dumps(doc), source_name="bench")
        built = document_catalogue(parsed)
        catalog, ids = built.catalog, built.ids
        keys = [""] * (len(parsed.activities) + 1)
        for a in parsed.activities:
            keys[ids[f"activity:{a.key}"]] = a.key
        found = _Built(
            doc, catalog, built.probes, Engine(catalog, probes=built.probes), ids, keys
        )
        _ENGINES[id(doc)] = found
    if found.log.due():
        found.engine = Engine(found.log.refit(found.catalog), probes=found.probes)
        print(
            f"refit after {found.log.n_learners} learners: "
            f"{found.log.n_fitted} questions fitted",
            file=sys.stderr,
            flush=True,
        )
    return found


def at(minutes: float) -> dt.datetime:
    return EPOCH + dt.timedelta(minutes=minutes)


class EngineTutor:
    """Asks the engine for each step and tells it every attempt."""

    def __init__(self, context: TutorContext, *, placement: bool = True) -> None:
        built = _engine_for(context.catalogue)
        self.engine, self.ids, self.keys = built.engine, built.ids, built.keys
        self.log = built.log
        self.serial = built.log.n_learners
        built.log.n_learners += 1
        self.learner: Learner = self.engine.start(
            {self.ids[f"skill:{s}"]: t for s, t in context.targets.items()}
        )
        self.last_reason = ""
        self.placement: Placement | None = (
            self.engine.start_placement(self.learner) if placement else None
        )

    @property
    def placement_questions(self) -> int:
        return len(self.placement.asked) if self.placement else 0

    def next_step(self, state: TutorState) -> Step:
        if self.placement is not None and not self.placement.done:
            step = self.engine.placement_step(
                self.learner, self.placement, at(state.now)
            )
            if step.choice is not None:
                self.last_reason = "placement"
                activity_id = int(step.choice.probe.ref.split(":")[0])
                return take(self.keys[activity_id])
        rec = self.engine.next_step(self.learner, at(state.now))
        self.last_reason = rec.reason.code
        if rec.kind in (KIND_ACTIVITY, KIND_REFRESHER) and rec.activity_id is not None:
            return take(
                self.keys[rec.activity_id], refresher=rec.kind == KIND_REFRESHER
            )
        if rec.kind == KIND_DONE:
            return DONE
        return BLOCKED(rec.reason.manager_text)

    def record(
        self, activity: str, responses: Sequence[Response], minutes: float, now: float
    ) -> None:
        placement = self.placement
        if placement is not None and placement.pending is not None:
            ref = placement.pending
            if self.keys[int(ref.split(":")[0])] == activity and responses:
                self.engine.answer_placement(
                    self.learner,
                    placement,
                    ref,
                    correct=responses[0].correct,
                    at=at(now),
                )
                return
        activity_id = self.ids[f"activity:{activity}"]
        answers = [r.correct for r in responses]
        if answers:
            self.log.add(self.serial, activity_id, answers)
        self.engine.record_attempt(
            self.learner,
            activity_id,
            at=at(now),
            responses=answers or None,
            minutes=minutes,
        )


def engine_tutor(context: TutorContext) -> EngineTutor:
    """The production path: placement first, then the mastery loop."""
    return EngineTutor(context)


def engine_tutor_without_placement(context: TutorContext) -> EngineTutor:
    """The mastery loop alone (``bench/simulate.py --no-placement``)."""
    return EngineTutor(context, placement=False)
