"""Pure: the learner model's parameter source and its value types (evidence, states, estimates)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from adaptive.core.level_belief import Vector
from adaptive.core.params import DEFAULT_PARAMS, BKTParams

# P(knows level l | knows level l-1) for l >= 2 when no per-level prior was fitted.
LEVEL_UP_PRIOR = 0.5


@dataclass(frozen=True)
class ParamSet:
    """Where BKT parameters come from: per (skill, level), else per skill, else default."""

    default: BKTParams = DEFAULT_PARAMS
    per_skill: Mapping[int, BKTParams] = field(default_factory=dict)
    per_level: Mapping[tuple[int, int], BKTParams] = field(default_factory=dict)

    def for_level(self, skill_id: int, level: int) -> BKTParams:
        found = self.per_level.get((skill_id, level)) or self.per_skill.get(skill_id)
        return (found or self.default).clipped()

    def level_prior(self, skill_id: int, level: int) -> float:
        """P(knows ``level`` | knows ``level - 1``) before any evidence."""
        fitted = self.per_level.get((skill_id, level))
        if fitted is not None:
            return fitted.clipped().prior
        if level == 1:
            return self.for_level(skill_id, 1).prior
        return LEVEL_UP_PRIOR


@dataclass(frozen=True, slots=True)
class Observation:
    """One piece of evidence about one skill.

    ``outcome`` in [0, 1] (a quiz score or a signal's success); ``weight`` is how many
    answers' worth it counts (a work signal may count more or less than one answer);
    ``learn_scale`` 0 means "measured, not taught" (placement questions).
    """

    skill_id: int
    level: int
    outcome: float
    at: dt.datetime
    weight: float = 1.0
    difficulty: float = 0.0
    learn_scale: float = 1.0
    #: A question's own fitted guess and slip (``ItemInfo``); ``None``: the skill's.
    guess: float | None = None
    slip: float | None = None
    #: 0 keeps this evidence out of the cross-skill ability: an answer right after
    #: being taught says how well the teaching worked, not what the learner knew.
    ability_scale: float = 1.0


@dataclass(slots=True)
class SkillState:
    """The stored posterior for one skill, valid at ``updated_at``."""

    probs: Vector
    updated_at: dt.datetime
    n_evidence: int = 0
    weight_evidence: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "probs": [round(float(p), 10) for p in self.probs],
            "updated_at": self.updated_at.isoformat(),
            "n_evidence": self.n_evidence,
            "weight_evidence": self.weight_evidence,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SkillState:
        return cls(
            probs=np.asarray(data["probs"], dtype=np.float64),
            updated_at=dt.datetime.fromisoformat(data["updated_at"]),
            n_evidence=int(data.get("n_evidence", 0)),
            weight_evidence=float(data.get("weight_evidence", 0.0)),
        )


@dataclass(frozen=True, slots=True)
class SkillEstimate:
    """What we believe about one skill against a target level, in learner terms."""

    skill_id: int
    target: int
    p_target: float
    level: int
    expected_level: float
    uncertainty: float
    level_probs: tuple[float, ...]
    n_evidence: int
    weight_evidence: float


@dataclass(frozen=True, slots=True)
class UpdateResult:
    skill_id: int
    level: int
    p_before: float
    p_after: float
    predicted_correct: float
    ability: float
