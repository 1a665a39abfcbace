"""The Pathwise engine as a bench tutor: a thin adapter over ``adaptive.core.engine``.

It translates catalogue keys to the engine's ids and the driver's minute clock to
datetimes; every decision and model update is the engine's own (the production path).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from adaptive.core.catalogue_parse import parse_catalogue
from adaptive.core.engine import Engine, Learner, catalog_from_document
from adaptive.core.mastery import KIND_ACTIVITY, KIND_DONE, KIND_REFRESHER
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
_ENGINES: dict[int, tuple[Mapping[str, Any], Engine, dict[str, int], list[str]]] = {}


def _engine_for(doc: Mapping[str, Any]) -> tuple[Engine, dict[str, int], list[str]]:
    """One engine per catalogue document (the driver shares the dict between runs)."""
    found = _ENGINES.get(id(doc))
    if found is None or found[0] is not doc:
        parsed = parse_catalogue(json.dumps(doc), source_name="bench")
        catalog, ids = catalog_from_document(parsed)
        keys = [""] * (len(parsed.activities) + 1)
        for a in parsed.activities:
            keys[ids[f"activity:{a.key}"]] = a.key
        found = (doc, Engine(catalog), ids, keys)
        _ENGINES[id(doc)] = found
    return found[1], found[2], found[3]


def at(minutes: float) -> dt.datetime:
    return EPOCH + dt.timedelta(minutes=minutes)


class EngineTutor:
    """Asks the engine for each step and tells it every attempt."""

    def __init__(self, context: TutorContext) -> None:
        self.engine, self.ids, self.keys = _engine_for(context.catalogue)
        self.learner: Learner = self.engine.start(
            {self.ids[f"skill:{s}"]: t for s, t in context.targets.items()}
        )
        self.last_reason = ""

    def next_step(self, state: TutorState) -> Step:
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
        self.engine.record_attempt(
            self.learner,
            self.ids[f"activity:{activity}"],
            at=at(now),
            responses=[r.correct for r in responses] or None,
            minutes=minutes,
        )


def engine_tutor(context: TutorContext) -> EngineTutor:
    return EngineTutor(context)
