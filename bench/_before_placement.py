"""Bench baseline: main's placement choice before issue 9, one probe at a time.

Kept only so ``bench/engine.py`` can time the vectorised ``adaptive.core.placement``
against it in the same run; it scores the same probes with the same model.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping

from adaptive.core.learner import LearnerModel
from adaptive.core.level_belief import Vector, expected_information
from adaptive.core.placement import Probe


def choose_probe_loop(
    model: LearnerModel,
    probes: Iterable[Probe],
    targets: Mapping[int, int],
    now: dt.datetime,
    asked: Collection[str] = (),
) -> tuple[Probe | None, float]:
    """The unasked probe with the largest expected gain (bits), scored in a loop."""
    best: Probe | None = None
    best_gain = -1.0
    posteriors: dict[int, Vector] = {}
    for probe in probes:
        target = targets.get(probe.skill_id)
        if target is None or probe.ref in asked or not 1 <= probe.level <= target:
            continue
        probs = posteriors.get(probe.skill_id)
        if probs is None:
            probs = model.posterior(probe.skill_id, now)
            posteriors[probe.skill_id] = probs
        pc = model.item_probs(probe.skill_id, probe.level, probe.difficulty)
        gain, _ = expected_information(probs, target, pc)
        if gain > best_gain:
            best, best_gain = probe, gain
    return best, best_gain
