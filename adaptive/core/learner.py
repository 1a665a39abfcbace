"""Pure: the learner model, online BKT over proficiency levels with forgetting.

Per learner and skill we keep a posterior over the framework's levels (0 "not yet" ..
K-1). It is Bayesian Knowledge Tracing generalised from two states to K ordered ones;
with K = 2 it is exactly classic BKT (the unit tests check hand-computed steps):

* evidence at level l splits the states into "knows l" (state >= l: correct with
  1 - slip) and "does not" (state < l: correct with guess);
* an opportunity at level l may teach it: mass at l-1 moves up with P(learn);
* between opportunities memory decays: each level drops to the one below at the daily
  forget rate (a continuous-time chain, so gaps of any length compose exactly).

Two additions that measurably help (see ``bench/simulate.py --no-ability``): item
difficulty shifts guess and slip in logit space, and a learner ability (an Elo-style
running estimate from how the learner beats or misses the model's predictions) shifts
the prior of the skills that have no evidence yet, so an expert who aces the first
questions starts higher on the rest.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from adaptive.core.learner_types import (
    Observation,
    ParamSet,
    SkillEstimate,
    SkillState,
    UpdateResult,
)
from adaptive.core.level_belief import (
    Vector,
    adjust_for_difficulty,
    bayes_update,
    forget,
    learn_step,
    logit,
    p_at_least,
    p_correct_by_state,
    sigmoid,
)

ABILITY_MAX = 2.5
ABILITY_RATE = 0.5
ABILITY_DECAY = 0.1
SECONDS_PER_DAY = 86400.0
# A skill id no catalogue uses: its parameters are the defaults.
_NO_SKILL = -(2**62)


@dataclass(frozen=True, slots=True)
class _SkillConst:
    """Per-skill parameter vectors, indexed by level (index 0 unused for level params)."""

    prior_logits: tuple[float, ...]
    guess: tuple[float, ...]
    slip: tuple[float, ...]
    learn: tuple[float, ...]
    forget_rates: tuple[float, ...]
    # The one forget rate of every level when they agree (the usual case), else None.
    uniform_rate: float | None = None


class LearnerModel:
    """One learner's beliefs across skills, updated online (O(levels) per evidence).

    Not thread-safe; build one per request from stored states (``from_dict``).
    """

    def __init__(
        self,
        *,
        n_levels: int = 6,
        params: ParamSet | None = None,
        ability: float = 0.0,
        n_ability: int = 0,
        use_ability: bool = True,
        states: Mapping[int, SkillState] | None = None,
    ) -> None:
        if n_levels < 2:
            raise ValueError("a proficiency scale needs at least two levels")
        self.n_levels = n_levels
        self.params = params or ParamSet()
        self.ability = ability
        self.n_ability = n_ability
        self.use_ability = use_ability
        self.states: dict[int, SkillState] = dict(states or {})
        self._const: dict[int, _SkillConst] = {}
        self._priors: dict[tuple[tuple[float, ...], float], Vector] = {}
        self._fitted: frozenset[int] | None = None

    # -- parameters --

    def const(self, skill_id: int) -> _SkillConst:
        found = self._const.get(skill_id)
        if found is None:
            levels = range(self.n_levels)
            by_level = [self.params.for_level(skill_id, max(lv, 1)) for lv in levels]
            rates = tuple(
                -math.log(1.0 - p.forget_per_day) if lv else 0.0
                for lv, p in zip(levels, by_level, strict=True)
            )
            found = _SkillConst(
                prior_logits=tuple(
                    logit(self.params.level_prior(skill_id, lv)) if lv else 0.0
                    for lv in levels
                ),
                guess=tuple(p.guess for p in by_level),
                slip=tuple(p.slip for p in by_level),
                learn=tuple(p.learn for p in by_level),
                forget_rates=rates,
                uniform_rate=rates[1]
                if all(r == rates[1] for r in rates[1:])
                else None,
            )
            self._const[skill_id] = found
        return found

    def level_params(self, skill_ids: Sequence[int]) -> tuple[Vector, Vector, Vector]:
        """Guess, slip and learn of many skills at once, one row per skill, by level.

        Skills without fitted parameters share the default row, so a decision over
        thousands of (activity, skill) pairs gathers its parameters without a loop.
        """
        n = len(skill_ids)
        default = self.const(_NO_SKILL)
        guess = np.tile(np.asarray(default.guess), (n, 1))
        slip = np.tile(np.asarray(default.slip), (n, 1))
        learn = np.tile(np.asarray(default.learn), (n, 1))
        fitted = self._fitted_skills()
        if fitted:
            for i, skill_id in enumerate(skill_ids):
                if skill_id in fitted:
                    c = self.const(skill_id)
                    guess[i], slip[i], learn[i] = c.guess, c.slip, c.learn
        return guess, slip, learn

    def _fitted_skills(self) -> frozenset[int]:
        found = self._fitted
        if found is None:
            found = frozenset(self.params.per_skill) | frozenset(
                s for s, _ in self.params.per_level
            )
            self._fitted = found
        return found

    def item_probs(
        self,
        skill_id: int,
        level: int,
        difficulty: float = 0.0,
        *,
        guess: float | None = None,
        slip: float | None = None,
    ) -> Vector:
        """P(correct | state) for a question on ``skill_id`` at ``level``; a
        question's own fitted ``guess`` / ``slip`` replace the skill's, and its
        difficulty shifts them as it shifts the skill's."""
        c = self.const(skill_id)
        guess, slip = adjust_for_difficulty(
            c.guess[level] if guess is None else guess,
            c.slip[level] if slip is None else slip,
            difficulty,
        )
        return p_correct_by_state(self.n_levels, level, guess, slip)

    # -- beliefs --

    def prior(self, skill_id: int) -> Vector:
        """Level distribution before evidence, shifted by the learner's ability.

        Cached per (parameters, ability): most skills share default parameters, and a
        decision reads the prior of every untouched target skill. Read-only.
        """
        c = self.const(skill_id)
        shift = self.ability if self.use_ability else 0.0
        key = (c.prior_logits, shift)
        cached = self._priors.get(key)
        if cached is not None:
            return cached
        at_least = np.ones(self.n_levels + 1, dtype=np.float64)
        at_least[self.n_levels] = 0.0
        running = 1.0
        for level in range(1, self.n_levels):
            running *= sigmoid(c.prior_logits[level] + shift)
            at_least[level] = running
        out = np.asarray(at_least[:-1] - at_least[1:], dtype=np.float64)
        out.flags.writeable = False
        if len(self._priors) > 64:
            self._priors.clear()
        self._priors[key] = out
        return out

    def posterior(self, skill_id: int, now: dt.datetime) -> Vector:
        """Current level distribution, with forgetting up to ``now`` applied."""
        state = self.states.get(skill_id)
        if state is None:
            return self.prior(skill_id)
        days = (now - state.updated_at).total_seconds() / SECONDS_PER_DAY
        return forget(state.probs, self.const(skill_id).forget_rates, days)

    def posteriors(self, skill_ids: Sequence[int], now: dt.datetime) -> Vector:
        """Current level distributions of many skills at once, one row per skill.

        Vectorised forgetting for the usual case (one forget rate for every level of a
        skill), so a decision over a role of 1,000 skills stays within milliseconds.
        """
        k = self.n_levels
        out = np.empty((len(skill_ids), k), dtype=np.float64)
        rows: list[int] = []
        probs: list[Vector] = []
        days: list[float] = []
        rates: list[float] = []
        states = self.states
        fitted = self._fitted_skills()
        default_rate = self.const(_NO_SKILL).uniform_rate
        # Skills without fitted parameters share one prior row (ability-shifted).
        out[:] = self.prior(_NO_SKILL)
        if fitted:
            for i, skill_id in enumerate(skill_ids):
                if skill_id in fitted and skill_id not in states:
                    out[i] = self.prior(skill_id)
        found = [states.get(s) for s in skill_ids]
        for i, state in enumerate(found):
            if state is None:
                continue
            skill_id = skill_ids[i]
            rate = (
                self.const(skill_id).uniform_rate
                if skill_id in fitted
                else default_rate
            )
            if rate is None:
                out[i] = self.posterior(skill_id, now)
                continue
            rows.append(i)
            probs.append(state.probs)
            days.append((now - state.updated_at).total_seconds() / SECONDS_PER_DAY)
            rates.append(rate)
        if rows:
            p = np.array(probs)
            mu = np.maximum(np.asarray(rates) * np.asarray(days), 0.0)
            pois = np.empty((len(rows), k))
            pois[:, 0] = np.exp(-mu)
            for j in range(1, k):
                pois[:, j] = pois[:, j - 1] * mu / j
            decayed = np.zeros_like(p)
            for level in range(k):
                kept = np.zeros(len(rows))
                for j in range(level):
                    decayed[:, level - j] += p[:, level] * pois[:, j]
                    kept += pois[:, j]
                decayed[:, 0] += p[:, level] * (1.0 - kept)
            out[rows] = decayed
        return out

    def n_evidence(self, skill_id: int) -> int:
        state = self.states.get(skill_id)
        return state.n_evidence if state is not None else 0

    def p_at_least(self, skill_id: int, level: int, now: dt.datetime) -> float:
        return p_at_least(self.posterior(skill_id, now), level)

    def estimate(self, skill_id: int, target: int, now: dt.datetime) -> SkillEstimate:
        """Probability of being at target, the median level and its spread."""
        probs = self.posterior(skill_id, now)
        levels = np.arange(self.n_levels, dtype=np.float64)
        mean = float(probs @ levels)
        std = math.sqrt(max(float(probs @ (levels - mean) ** 2), 0.0))
        tail = np.cumsum(probs[::-1])[::-1]
        median = int(
            max((lv for lv in range(self.n_levels) if tail[lv] >= 0.5), default=0)
        )
        state = self.states.get(skill_id)
        return SkillEstimate(
            skill_id=skill_id,
            target=target,
            p_target=p_at_least(probs, target),
            level=median,
            expected_level=mean,
            uncertainty=std,
            level_probs=tuple(float(p) for p in probs),
            n_evidence=state.n_evidence if state else 0,
            weight_evidence=state.weight_evidence if state else 0.0,
        )

    # -- updates --

    def observe(self, obs: Observation) -> UpdateResult:
        """Fold one piece of evidence in: forget to now, Bayes, learn, ability."""
        if not 1 <= obs.level < self.n_levels:
            raise ValueError(
                f"evidence level {obs.level} is outside 1..{self.n_levels - 1}"
            )
        if obs.weight < 0.0 or not 0.0 <= obs.outcome <= 1.0:
            raise ValueError("evidence needs weight >= 0 and outcome in [0, 1]")
        probs = self.posterior(obs.skill_id, obs.at)
        before = p_at_least(probs, obs.level)
        pc = self.item_probs(
            obs.skill_id, obs.level, obs.difficulty, guess=obs.guess, slip=obs.slip
        )
        predicted = float(probs @ pc)
        probs = bayes_update(probs, pc, obs.outcome, obs.weight)
        if obs.learn_scale > 0.0:
            learn = self.const(obs.skill_id).learn[obs.level] * min(
                obs.learn_scale, 1.0
            )
            probs = learn_step(probs, obs.level, learn)
        state = self.states.get(obs.skill_id)
        n, w = (state.n_evidence, state.weight_evidence) if state else (0, 0.0)
        self.states[obs.skill_id] = SkillState(
            probs=probs,
            updated_at=obs.at,
            n_evidence=n + 1,
            weight_evidence=w + obs.weight,
        )
        if self.use_ability and obs.weight > 0.0 and obs.ability_scale > 0.0:
            rate = ABILITY_RATE / (1.0 + ABILITY_DECAY * self.n_ability)
            # One update per piece of evidence, whatever its weight: a 4-question quiz
            # on one skill says little more about *other* skills than one answer does.
            step = (
                rate
                * min(obs.weight, 1.0)
                * min(obs.ability_scale, 1.0)
                * (obs.outcome - predicted)
            )
            self.ability = min(max(self.ability + step, -ABILITY_MAX), ABILITY_MAX)
            self.n_ability += 1
        return UpdateResult(
            skill_id=obs.skill_id,
            level=obs.level,
            p_before=before,
            p_after=p_at_least(probs, obs.level),
            predicted_correct=predicted,
            ability=self.ability,
        )

    def teach(
        self,
        skill_id: int,
        level: int,
        at: dt.datetime,
        *,
        scale: float = 1.0,
        lowest: int | None = None,
    ) -> float:
        """A learning opportunity with no observation (a lesson, a worked example).

        Forgets up to ``at``, then lifts the mass below ``level`` (from ``lowest`` up,
        see :func:`learn_step`) with the skill's learn rate times ``scale``. The
        evidence counters do not move: being taught is not evidence of knowing.
        Returns P(at least ``level``) afterwards.
        """
        if not 1 <= level < self.n_levels:
            raise ValueError(
                f"teaching level {level} is outside 1..{self.n_levels - 1}"
            )
        probs = self.posterior(skill_id, at)
        learn = self.const(skill_id).learn[level] * min(max(scale, 0.0), 1.0)
        probs = learn_step(probs, level, learn, lowest)
        state = self.states.get(skill_id)
        n, w = (state.n_evidence, state.weight_evidence) if state else (0, 0.0)
        self.states[skill_id] = SkillState(
            probs=probs, updated_at=at, n_evidence=n, weight_evidence=w
        )
        return p_at_least(probs, level)

    # -- persistence --

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_levels": self.n_levels,
            "ability": self.ability,
            "n_ability": self.n_ability,
            "skills": {str(s): st.to_dict() for s, st in self.states.items()},
        }

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], params: ParamSet | None = None
    ) -> LearnerModel:
        return cls(
            n_levels=int(data.get("n_levels", 6)),
            params=params,
            ability=float(data.get("ability", 0.0)),
            n_ability=int(data.get("n_ability", 0)),
            states={
                int(s): SkillState.from_dict(v)
                for s, v in data.get("skills", {}).items()
            },
        )
