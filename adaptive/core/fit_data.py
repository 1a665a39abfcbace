"""Pure: the response log and per-skill parameter arrays every model fit reads and writes.

The fitters (``fit_em``, ``fit_bkt``, ``fit_ability``, ``fit_items``) and the
training job share these two shapes, so a log built once feeds every fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from adaptive.core.params import (
    GUESS_MAX,
    PROB_MIN,
    SLIP_MAX,
    BKTParams,
)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

FORGET_MAX = 0.5


@dataclass(frozen=True, slots=True)
class ResponseLog:
    """Responses as parallel arrays (any order; the fitter sorts by learner and time).

    ``skill`` is a dense group index ``0..n_skills-1``: a skill, or a (skill, level)
    pair when parameters are wanted per level.
    """

    learner: IntArray
    skill: IntArray
    correct: FloatArray
    t_days: FloatArray
    weight: FloatArray
    n_skills: int

    @classmethod
    def from_arrays(
        cls,
        learner: ArrayLike,
        skill: ArrayLike,
        correct: ArrayLike,
        t_days: ArrayLike,
        weight: ArrayLike | None = None,
        n_skills: int | None = None,
    ) -> ResponseLog:
        """Validate and normalise the arrays (outcomes >= 0.5 count as correct)."""
        learner_a = np.asarray(learner, dtype=np.int64)
        skill_a = np.asarray(skill, dtype=np.int64)
        correct_a = (np.asarray(correct, dtype=np.float64) >= 0.5).astype(np.float64)
        t_a = np.asarray(t_days, dtype=np.float64)
        n = learner_a.shape[0]
        weight_a = (
            np.ones(n, dtype=np.float64)
            if weight is None
            else np.asarray(weight, dtype=np.float64)
        )
        if not (
            skill_a.shape[0]
            == correct_a.shape[0]
            == t_a.shape[0]
            == n
            == weight_a.shape[0]
        ):
            raise ValueError("response arrays must have the same length")
        if n and (skill_a.min() < 0 or learner_a.min() < 0):
            raise ValueError("learner and skill indices must be non-negative")
        if np.any(weight_a < 0) or not np.all(np.isfinite(t_a)):
            raise ValueError("weights must be >= 0 and times finite")
        inferred = int(skill_a.max()) + 1 if n else 0
        return cls(
            learner=learner_a,
            skill=skill_a,
            correct=correct_a,
            t_days=t_a,
            weight=weight_a,
            n_skills=max(inferred, n_skills or 0),
        )

    def __len__(self) -> int:
        return int(self.learner.shape[0])

    def subset(self, mask: NDArray[np.bool_]) -> ResponseLog:
        """The responses where ``mask`` holds (same skill indexing)."""
        return ResponseLog(
            learner=self.learner[mask],
            skill=self.skill[mask],
            correct=self.correct[mask],
            t_days=self.t_days[mask],
            weight=self.weight[mask],
            n_skills=self.n_skills,
        )


@dataclass(frozen=True, slots=True)
class SkillParamArrays:
    """BKT parameters for every skill as arrays (index = skill group)."""

    prior: FloatArray
    learn: FloatArray
    guess: FloatArray
    slip: FloatArray
    forget_per_day: FloatArray

    @classmethod
    def broadcast(cls, params: BKTParams, n_skills: int) -> SkillParamArrays:
        p = params.clipped()
        return cls(
            prior=np.full(n_skills, p.prior),
            learn=np.full(n_skills, p.learn),
            guess=np.full(n_skills, p.guess),
            slip=np.full(n_skills, p.slip),
            forget_per_day=np.full(n_skills, p.forget_per_day),
        )

    @classmethod
    def from_params(cls, params: list[BKTParams]) -> SkillParamArrays:
        clipped = [p.clipped() for p in params]
        return cls(
            prior=np.array([p.prior for p in clipped], dtype=np.float64),
            learn=np.array([p.learn for p in clipped], dtype=np.float64),
            guess=np.array([p.guess for p in clipped], dtype=np.float64),
            slip=np.array([p.slip for p in clipped], dtype=np.float64),
            forget_per_day=np.array(
                [p.forget_per_day for p in clipped], dtype=np.float64
            ),
        )

    def __len__(self) -> int:
        return int(self.prior.shape[0])

    def params(self, skill: int) -> BKTParams:
        return BKTParams(
            prior=float(self.prior[skill]),
            learn=float(self.learn[skill]),
            guess=float(self.guess[skill]),
            slip=float(self.slip[skill]),
            forget_per_day=float(self.forget_per_day[skill]),
        )

    def to_list(self) -> list[BKTParams]:
        return [self.params(k) for k in range(len(self))]

    def clipped(self) -> SkillParamArrays:
        """Enforce the ``BKTParams`` safe bounds element-wise."""
        high = 1 - PROB_MIN
        return SkillParamArrays(
            prior=np.clip(self.prior, PROB_MIN, high),
            learn=np.clip(self.learn, PROB_MIN, high),
            guess=np.clip(self.guess, PROB_MIN, GUESS_MAX),
            slip=np.clip(self.slip, PROB_MIN, SLIP_MAX),
            forget_per_day=np.clip(self.forget_per_day, PROB_MIN, FORGET_MAX),
        )

    def take(self, index: IntArray) -> SkillParamArrays:
        return SkillParamArrays(
            prior=self.prior[index],
            learn=self.learn[index],
            guess=self.guess[index],
            slip=self.slip[index],
            forget_per_day=self.forget_per_day[index],
        )
