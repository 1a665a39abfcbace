"""Pure: the ability layer on top of BKT, and the full learner-model fit.

:class:`AbilityCorrection` is a logistic layer that adds the learner's ability,
estimated online from their residuals on *earlier* responses across all skills (so
it works for new learners and never peeks ahead); :func:`fit_model` fits BKT per
skill and then this layer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

from adaptive.core.fit_bkt import FitResult, fit_bkt, predict_bkt
from adaptive.core.fit_data import FloatArray, ResponseLog
from adaptive.core.params import (
    DEFAULT_PARAMS,
    PROB_MIN,
    BKTParams,
)

# --- ability layer ---


def _logit(p: FloatArray) -> FloatArray:
    q = np.clip(p, PROB_MIN, 1.0 - PROB_MIN)
    return np.asarray(np.log(q / (1.0 - q)), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class AbilityState:
    """A learner's running residuals: how much they beat (or missed) BKT so far."""

    residual_sum: float = 0.0
    count: float = 0.0


@dataclass(frozen=True, slots=True)
class AbilityCorrection:
    """Logistic layer: ``logit P = a*logit(P_bkt) + (b + c*first) * ability + d``.

    ``ability`` is the learner's mean residual (correct - P_bkt) over *earlier*
    responses on any skill, shrunk toward 0 by ``shrinkage`` pseudo-responses; it
    matters most on a skill's first opportunity, where BKT only has the population
    prior (``first`` = 1 there). Online it is two numbers per learner
    (:class:`AbilityState`).
    """

    coef_bkt: float = 1.0
    coef_ability: float = 0.0
    coef_ability_first: float = 0.0
    intercept: float = 0.0
    shrinkage: float = 10.0

    def ability(self, state: AbilityState) -> float:
        return state.residual_sum / (state.count + self.shrinkage)

    def adjust(self, p_bkt: float, state: AbilityState, first_on_skill: bool) -> float:
        """P(correct) for one response from BKT's prediction and the learner's state."""
        q = min(max(p_bkt, PROB_MIN), 1.0 - PROB_MIN)
        theta = self.ability(state)
        z = (
            self.coef_bkt * float(np.log(q / (1.0 - q)))
            + (self.coef_ability + self.coef_ability_first * float(first_on_skill))
            * theta
            + self.intercept
        )
        return float(1.0 / (1.0 + np.exp(-z)))

    @staticmethod
    def update(
        state: AbilityState, correct: bool, p_bkt: float, weight: float = 1.0
    ) -> AbilityState:
        """Fold one response in (use BKT's prediction, not the corrected one)."""
        return AbilityState(
            residual_sum=state.residual_sum + weight * (float(correct) - p_bkt),
            count=state.count + weight,
        )

    def features(self, log: ResponseLog, p_bkt: FloatArray) -> FloatArray:
        """Design matrix [logit P_bkt, ability, ability*first], one-step-ahead."""
        n = len(log)
        idx = np.arange(n)
        order = np.lexsort((idx, log.t_days, log.learner))
        learner = log.learner[order]
        w = log.weight[order]
        residual = w * (log.correct[order] - p_bkt[order])
        new_learner = np.ones(n, dtype=bool)
        new_learner[1:] = learner[1:] != learner[:-1]
        # exclusive cumulative sums within each learner: only earlier responses count
        res_cum = np.cumsum(residual) - residual
        cnt_cum = np.cumsum(w) - w
        starts = np.flatnonzero(new_learner)
        group = np.cumsum(new_learner) - 1
        res_before = res_cum - res_cum[starts][group]
        cnt_before = cnt_cum - cnt_cum[starts][group]
        theta_sorted = res_before / (cnt_before + self.shrinkage)
        theta = np.empty(n)
        theta[order] = theta_sorted
        first = _first_on_skill(log)
        return np.column_stack([_logit(p_bkt), theta, theta * first])

    def fit(self, log: ResponseLog, p_bkt: FloatArray) -> AbilityCorrection:
        """Fit the coefficients on training responses (features are one-step-ahead)."""
        x = self.features(log, p_bkt)
        model = LogisticRegression(C=100.0, max_iter=200)
        model.fit(x, log.correct.astype(np.int64), sample_weight=log.weight)
        coef = model.coef_[0]
        return AbilityCorrection(
            coef_bkt=float(coef[0]),
            coef_ability=float(coef[1]),
            coef_ability_first=float(coef[2]),
            intercept=float(model.intercept_[0]),
            shrinkage=self.shrinkage,
        )

    def predict(self, log: ResponseLog, p_bkt: FloatArray) -> FloatArray:
        x = self.features(log, p_bkt)
        z = (
            self.coef_bkt * x[:, 0]
            + self.coef_ability * x[:, 1]
            + self.coef_ability_first * x[:, 2]
            + self.intercept
        )
        return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)

    def to_dict(self) -> dict[str, float]:
        return {
            "coef_bkt": self.coef_bkt,
            "coef_ability": self.coef_ability,
            "coef_ability_first": self.coef_ability_first,
            "intercept": self.intercept,
            "shrinkage": self.shrinkage,
        }


def _first_on_skill(log: ResponseLog) -> FloatArray:
    """1.0 where the response is the learner's first on that skill."""
    n = len(log)
    order = np.lexsort((np.arange(n), log.t_days, log.skill, log.learner))
    learner, skill = log.learner[order], log.skill[order]
    first_sorted = np.ones(n)
    first_sorted[1:] = (
        (learner[1:] != learner[:-1]) | (skill[1:] != skill[:-1])
    ).astype(np.float64)
    out = np.empty(n)
    out[order] = first_sorted
    return out


# --- the full model ---


@dataclass(frozen=True, slots=True)
class LearnerModelFit:
    """BKT per skill plus the ability layer: what the background job produces."""

    bkt: FitResult
    ability: AbilityCorrection
    seconds: float


def fit_model(
    log: ResponseLog,
    *,
    use_ability: bool = True,
    strength: float = 5.0,
    max_iter: int = 200,
    tol: float = 1e-6,
    restarts: int = 0,
    seed: int = 0,
    defaults: BKTParams = DEFAULT_PARAMS,
) -> LearnerModelFit:
    """Fit BKT per skill by EM, then (optionally) the ability layer on its output."""
    started = time.perf_counter()
    bkt = fit_bkt(
        log,
        strength=strength,
        max_iter=max_iter,
        tol=tol,
        restarts=restarts,
        seed=seed,
        defaults=defaults,
    )
    ability = AbilityCorrection()
    if use_ability and len(log) >= 50 and 0.0 < float(log.correct.mean()) < 1.0:
        ability = ability.fit(log, predict_bkt(bkt.params, log))
    return LearnerModelFit(
        bkt=bkt, ability=ability, seconds=time.perf_counter() - started
    )


def predict_one_step(
    model: LearnerModelFit, log: ResponseLog, *, use_ability: bool = True
) -> FloatArray:
    """One-step-ahead P(correct) for every response in ``log`` (in its order).

    Each prediction uses only the same learner's earlier responses: BKT state per
    skill from that skill's history, ability from the history across skills. This
    is how held-out learners are scored.
    """
    p_bkt = predict_bkt(model.bkt.params, log)
    if not use_ability:
        return p_bkt
    return model.ability.predict(log, p_bkt)
