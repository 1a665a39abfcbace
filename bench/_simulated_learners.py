"""Bench support: simulated learners with hidden true skills (shared by the benches).

``simulate_responses`` is a plain BKT generator (known parameters in, answer sequences
out) that parameter-recovery benches can reuse. The richer ``SimLearner`` below has
levels, prerequisites, per-learner learning rates, slips, guesses and forgetting; the
adaptive-vs-linear simulation drives it through real engine decisions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from adaptive.core.params import BKTParams


@dataclass(frozen=True, slots=True)
class Response:
    """One simulated answer: who, which skill, when (days), and the hidden state."""

    learner: int
    skill_id: int
    opportunity: int
    at_days: float
    correct: bool
    known_before: bool


def simulate_responses(
    params_by_skill: Mapping[int, BKTParams],
    *,
    n_learners: int,
    n_opportunities: int,
    seed: int = 0,
    days_between: float = 1.0,
) -> list[Response]:
    """Generate BKT answer sequences from known parameters (ground truth for fitting).

    Each learner meets each skill ``n_opportunities`` times, ``days_between`` days
    apart.
    Per opportunity: forgetting over the gap (known -> unknown with probability
    ``1 - (1 - forget_per_day) ** gap``), then an answer (correct with ``1 - slip`` if
    known, ``guess`` otherwise), then learning (unknown -> known with ``learn``).

    Returns:
        Responses ordered by learner, skill, opportunity.
    """
    rng = np.random.default_rng(seed)
    out: list[Response] = []
    for learner in range(n_learners):
        for skill_id, p in params_by_skill.items():
            known = bool(rng.random() < p.prior)
            for k in range(n_opportunities):
                if k > 0 and known:
                    p_forget = 1.0 - (1.0 - p.forget_per_day) ** days_between
                    known = not bool(rng.random() < p_forget)
                p_correct = (1.0 - p.slip) if known else p.guess
                correct = bool(rng.random() < p_correct)
                out.append(
                    Response(
                        learner=learner,
                        skill_id=skill_id,
                        opportunity=k,
                        at_days=k * days_between,
                        correct=correct,
                        known_before=known,
                    )
                )
                if not known and rng.random() < p.learn:
                    known = True
    return out


# --- learners with levels, prerequisites and forgetting ---


@dataclass(slots=True)
class SimLearner:
    """A hidden learner: true levels and personal rates (never shown to the engine)."""

    group: str
    level: dict[int, int]
    aptitude: float
    slip: float
    guess: float
    forget_per_day: float
    strength: dict[int, float] = field(default_factory=dict)
    last_practice_day: dict[int, int] = field(default_factory=dict)
    seen: dict[int, int] = field(default_factory=dict)

    def meets(self, targets: Mapping[int, int]) -> bool:
        return all(self.level.get(s, 0) >= t for s, t in targets.items())

    def share_at_target(self, targets: Mapping[int, int]) -> float:
        if not targets:
            return 1.0
        hit = sum(1 for s, t in targets.items() if self.level.get(s, 0) >= t)
        return hit / len(targets)

    def answer(self, rng: np.random.Generator, skill_id: int, level: int) -> bool:
        known = self.level.get(skill_id, 0) >= level
        return bool(rng.random() < ((1.0 - self.slip) if known else self.guess))

    def practise(self, skill_id: int, level: int, day: int) -> None:
        """Successful retrieval consolidates memory; spaced practice counts more."""
        if self.level.get(skill_id, 0) < level:
            return
        spaced = self.last_practice_day.get(skill_id, day) < day
        gain = 1.0 if spaced else 0.4
        self.strength[skill_id] = self.strength.get(skill_id, 0.0) + gain
        self.last_practice_day[skill_id] = day

    def forget_one_day(self, rng: np.random.Generator) -> None:
        for skill_id, lvl in self.level.items():
            if lvl <= 0:
                continue
            rate = self.forget_per_day / (1.0 + self.strength.get(skill_id, 0.0))
            if rng.random() < rate:
                self.level[skill_id] = lvl - 1


GROUPS: dict[str, tuple[float, float]] = {
    # share of the role's skills already known on arrival (uniform range)
    "novice": (0.0, 0.1),
    "intermediate": (0.3, 0.5),
    "expert": (0.6, 0.8),
}


def make_learner(
    rng: np.random.Generator,
    group: str,
    *,
    targets: Mapping[int, int],
    prerequisites: Mapping[int, Sequence[int]],
    topo_order: Sequence[int],
    max_level: int = 5,
) -> SimLearner:
    """Draw a learner of ``group``: prior knowledge mostly respects prerequisites."""
    low, high = GROUPS[group]
    share = float(rng.uniform(low, high))
    level: dict[int, int] = {}
    n_known_goal = round(share * len(targets))
    # Knowledge grows along the graph: a skill is known only when its prerequisites are.
    order = list(topo_order)
    known: list[int] = []
    candidates = [s for s in order if not prerequisites.get(s)]
    while len(known) < n_known_goal and candidates:
        pick = candidates[int(rng.integers(len(candidates)))]
        known.append(pick)
        candidates = [
            s
            for s in order
            if s not in known and all(p in known for p in prerequisites.get(s, ()))
        ]
    for skill_id, target in targets.items():
        if skill_id in known:
            level[skill_id] = min(max_level, target + int(rng.integers(0, 2)))
        elif target > 1 and rng.random() < share:
            level[skill_id] = int(rng.integers(1, target))
        else:
            level[skill_id] = 0
    return SimLearner(
        group=group,
        level=level,
        aptitude=float(rng.uniform(0.6, 1.0)),
        slip=float(rng.uniform(0.05, 0.15)),
        guess=float(rng.uniform(0.1, 0.25)),
        forget_per_day=float(rng.uniform(0.003, 0.02)),
    )


KIND_LEARN = {"lesson": 0.85, "worked_example": 0.7, "quiz": 0.45, "refresher": 0.3}


def learn_probability(
    learner: SimLearner,
    *,
    kind: str,
    skill_id: int,
    level: int,
    activity_id: int,
    prerequisites_ready: bool,
) -> float:
    """Chance that one activity lifts the learner from ``level - 1`` to ``level``.

    Repeating the very same activity teaches less each time (the reason alternative
    explanations exist), with diminishing returns that never reach nothing: the
    ``k``-th repeat teaches ``1 / (1 + k)`` of the first. (A geometric ``0.5 ** k``
    made the total chance of ever learning a level converge, so about one level in
    ten could never be learnt by anyone: the oracle itself reached only 70-92% of
    the learners.) Missing prerequisites cut learning sharply.
    """
    if learner.level.get(skill_id, 0) != level - 1:
        return 0.0
    p = KIND_LEARN.get(kind, 0.5) * learner.aptitude
    p /= 1.0 + learner.seen.get(activity_id, 0)
    if not prerequisites_ready:
        p *= 0.25
    return min(p, 0.99)
