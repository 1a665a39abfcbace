"""Pure: the placement check, a computerised adaptive test over per-skill level posteriors.

Each step asks the question with the largest expected entropy reduction of the learner's
level posterior (truncated at the role's target: above the need is all the same), and
the check stops when every target skill is decided with confidence, when no question
is worth asking, or at the budget. Answers are evidence with no learning.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from adaptive.core.learner import (
    LearnerModel,
    Observation,
    Vector,
    expected_information,
    p_at_least,
)


@dataclass(frozen=True, slots=True)
class Probe:
    """A placement question: it measures ``skill_id`` at ``level``; ``ref`` finds its text."""

    skill_id: int
    level: int
    ref: str
    difficulty: float = 0.0


@dataclass(frozen=True, slots=True)
class PlacementConfig:
    budget: int = 8
    confidence: float = 0.9
    min_gain_bits: float = 0.02


@dataclass(frozen=True, slots=True)
class ProbeChoice:
    probe: Probe
    expected_gain_bits: float
    p_correct: float
    p_target: float


@dataclass(frozen=True, slots=True)
class PlacementStep:
    """Either the next question, or the decision to stop and why (code + numbers)."""

    choice: ProbeChoice | None
    stop_code: str | None
    numbers: Mapping[str, float] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.choice is None


def choose_probe(
    model: LearnerModel,
    probes: Iterable[Probe],
    targets: Mapping[int, int],
    now: dt.datetime,
    asked: Collection[str] = (),
) -> ProbeChoice | None:
    """The unasked question that tells most about the role's skills (bits, expected).

    Only levels 1..target matter for a skill: a question above the target cannot change
    a decision, so it is never asked.
    """
    best: ProbeChoice | None = None
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
        gain, p1 = expected_information(probs, target, pc)
        if best is None or gain > best.expected_gain_bits:
            best = ProbeChoice(probe, gain, p1, p_at_least(probs, target))
    return best


def confident_share(
    model: LearnerModel, targets: Mapping[int, int], now: dt.datetime, confidence: float
) -> tuple[int, int]:
    """How many target skills are decided (at target, or not, with ``confidence``)."""
    decided = 0
    for skill_id, target in targets.items():
        p = model.p_at_least(skill_id, target, now)
        if max(p, 1.0 - p) >= confidence:
            decided += 1
    return decided, len(targets)


def next_placement_step(
    model: LearnerModel,
    probes: Iterable[Probe],
    targets: Mapping[int, int],
    now: dt.datetime,
    *,
    asked: Collection[str] = (),
    config: PlacementConfig | None = None,
) -> PlacementStep:
    """Pick the next question or stop (budget, confident, or nothing informative left)."""
    cfg = config or PlacementConfig()
    n_asked = len(asked)
    decided, total = confident_share(model, targets, now, cfg.confidence)
    numbers: dict[str, float] = {
        "asked": n_asked,
        "budget": cfg.budget,
        "skills_decided": decided,
        "skills": total,
        "confidence": cfg.confidence,
    }
    if n_asked >= cfg.budget:
        return PlacementStep(None, "budget_reached", numbers)
    if decided == total:
        return PlacementStep(None, "confident", numbers)
    choice = choose_probe(model, probes, targets, now, asked)
    if choice is None or choice.expected_gain_bits < cfg.min_gain_bits:
        numbers["best_gain_bits"] = choice.expected_gain_bits if choice else 0.0
        return PlacementStep(None, "no_informative_question", numbers)
    numbers["expected_gain_bits"] = choice.expected_gain_bits
    return PlacementStep(choice, None, numbers)


def placement_observation(probe: Probe, correct: bool, at: dt.datetime) -> Observation:
    """A placement answer measures without teaching (learn_scale 0)."""
    return Observation(
        skill_id=probe.skill_id,
        level=probe.level,
        outcome=1.0 if correct else 0.0,
        at=at,
        difficulty=probe.difficulty,
        learn_scale=0.0,
    )
