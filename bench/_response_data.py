"""Bench support: simulated response logs for fitting the learner model (deterministic).

Learners differ in ability; skills have BKT parameters; each learner practises a
few skills in sessions days apart, learns per opportunity and forgets with elapsed
time. Ability shifts the learner's prior, learning rate and both answer
probabilities in logit space, so a good model can gain by estimating it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from adaptive.core.fit_data import ResponseLog, SkillParamArrays

MINUTE_DAYS = 1.0 / 1440.0


@dataclass(frozen=True, slots=True)
class SimulatedData:
    log: ResponseLog
    truth: SkillParamArrays
    ability: NDArray[np.float64]  # per learner
    known_before: NDArray[np.bool_]  # hidden state at each response


def _logit(p: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.asarray(np.log(p / (1.0 - p)), dtype=np.float64)


def _sigmoid(x: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.asarray(1.0 / (1.0 + np.exp(-x)), dtype=np.float64)


def true_skill_params(n_skills: int, rng: np.random.Generator) -> SkillParamArrays:
    return SkillParamArrays(
        prior=rng.uniform(0.1, 0.5, n_skills),
        learn=rng.uniform(0.05, 0.3, n_skills),
        guess=rng.uniform(0.1, 0.3, n_skills),
        slip=rng.uniform(0.05, 0.2, n_skills),
        forget_per_day=rng.uniform(0.01, 0.08, n_skills),
    )


def simulate(
    n_responses: int = 500_000,
    n_skills: int = 50,
    *,
    seed: int = 0,
    ability_sd: float = 1.0,
    truth: SkillParamArrays | None = None,
) -> SimulatedData:
    """Generate exactly ``n_responses`` responses over ``n_skills`` skills.

    Per learner: 4-12 skills (popular skills more often), sessions on days drawn
    with exponential gaps (mean 3 days), one to three skills per session and 2-10
    answers per skill a minute apart. Per opportunity: forgetting over the gap
    (known -> unknown with ``1 - (1 - forget) ** gap``), the answer, then learning.
    """
    rng = np.random.default_rng(seed)
    params = truth if truth is not None else true_skill_params(n_skills, rng)
    popularity = rng.dirichlet(np.full(n_skills, 2.0))
    learners: list[NDArray[np.int64]] = []
    skills: list[NDArray[np.int64]] = []
    times: list[NDArray[np.float64]] = []
    total = 0
    learner = 0
    while total < n_responses:
        n_mine = int(rng.integers(4, 13))
        mine = rng.choice(
            n_skills, size=min(n_mine, n_skills), replace=False, p=popularity
        )
        n_sessions = int(rng.integers(3, 16))
        day = np.cumsum(rng.exponential(3.0, n_sessions))
        for start in day:
            picked = rng.choice(mine, size=int(rng.integers(1, 4)), replace=True)
            counts = rng.integers(2, 11, picked.shape[0])
            s = np.repeat(picked, counts)
            n = s.shape[0]
            t = start + np.arange(n) * MINUTE_DAYS
            learners.append(np.full(n, learner, dtype=np.int64))
            skills.append(s.astype(np.int64))
            times.append(t)
            total += n
        learner += 1
    learner_a = np.concatenate(learners)[:n_responses]
    skill_a = np.concatenate(skills)[:n_responses]
    t_a = np.concatenate(times)[:n_responses]
    n_learners = int(learner_a.max()) + 1
    ability = rng.normal(0.0, ability_sd, n_learners)
    correct, known = _run_hidden_states(params, learner_a, skill_a, t_a, ability, rng)
    log = ResponseLog.from_arrays(learner_a, skill_a, correct, t_a, n_skills=n_skills)
    return SimulatedData(log=log, truth=params, ability=ability, known_before=known)


def _run_hidden_states(
    p: SkillParamArrays,
    learner: NDArray[np.int64],
    skill: NDArray[np.int64],
    t_days: NDArray[np.float64],
    ability: NDArray[np.float64],
    rng: np.random.Generator,
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Step all (learner, skill) sequences together, one opportunity at a time."""
    n = learner.shape[0]
    order = np.lexsort((np.arange(n), t_days, skill, learner))
    lr, sk, tt = learner[order], skill[order], t_days[order]
    new_seq = np.ones(n, dtype=bool)
    new_seq[1:] = (lr[1:] != lr[:-1]) | (sk[1:] != sk[:-1])
    seq = np.cumsum(new_seq) - 1
    starts = np.flatnonzero(new_seq)
    pos = np.arange(n) - starts[seq]
    theta = ability[lr]
    prior = _sigmoid(_logit(p.prior[sk]) + 0.8 * theta)
    learn = _sigmoid(_logit(p.learn[sk]) + 0.5 * theta)
    p_right_known = _sigmoid(_logit(1.0 - p.slip[sk]) + 0.5 * theta)
    p_right_unknown = _sigmoid(_logit(p.guess[sk]) + 0.5 * theta)
    gap = np.zeros(n)
    gap[1:] = np.diff(tt)
    gap[new_seq] = 0.0
    retention = (1.0 - p.forget_per_day[sk]) ** gap
    u_state, u_answer, u_learn = rng.random((3, n))
    known = np.zeros(n, dtype=bool)
    correct = np.zeros(n)
    state = np.zeros(starts.shape[0], dtype=bool)
    by_pos = np.argsort(pos, kind="stable")
    bounds = np.searchsorted(pos[by_pos], np.arange(int(pos.max()) + 2))
    for k in range(int(pos.max()) + 1):
        idx = by_pos[bounds[k] : bounds[k + 1]]
        s = seq[idx]
        if k == 0:
            state[s] = u_state[idx] < prior[idx]
        else:
            state[s] &= u_state[idx] < retention[idx]
        known[idx] = state[s]
        p_right = np.where(state[s], p_right_known[idx], p_right_unknown[idx])
        correct[idx] = (u_answer[idx] < p_right).astype(np.float64)
        state[s] |= u_learn[idx] < learn[idx]
    out_correct = np.empty(n)
    out_known = np.empty(n, dtype=bool)
    out_correct[order] = correct
    out_known[order] = known
    return out_correct, out_known


def split_learners(
    log: ResponseLog, held_out: float = 0.2, seed: int = 1
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Masks (train, test) holding out a random ``held_out`` share of learners."""
    rng = np.random.default_rng(seed)
    learners = np.unique(log.learner)
    test_learners = rng.choice(
        learners, size=round(held_out * learners.shape[0]), replace=False
    )
    test = np.isin(log.learner, test_learners)
    return ~test, test
