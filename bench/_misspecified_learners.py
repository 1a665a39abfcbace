"""Simulated learners built on a model that deliberately differs from the engine's.

A tutor is only trustworthy if it works on learners it did not invent, so these
learners share nothing with a per-level mastery (BKT-style) model:

* proficiency is one continuous number per skill on the framework's scale (0.0-5.0),
  not a set of mastered/unmastered levels;
* answers follow a three-parameter logistic curve per question (hidden difficulty,
  discrimination and guessing from the catalogue's side table), plus a small
  per-learner lapse rate, so someone just at a question's level is right only ~70%
  of the time;
* learning from an activity depends on the learner's affinity to its hidden
  explanation style and a per-learner fit to that very activity (so an alternative
  explanation can land where the first did not), on the gap between the activity's
  level and the learner (too easy or too hard teaches little), on the prerequisites
  (weak ones slow learning), with diminishing returns on repeating an activity;
* forgetting is continuous: part of each gain is durable, the rest decays
  exponentially toward the durable floor at a per-learner rate, and spaced re-study
  consolidates it;
* time taken is the stated duration times a per-learner speed, with noise.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bench._catalogue_gen import QuestionRef, SideParams

MINUTES_PER_DAY = 1440.0
STYLES = ("conceptual", "narrative", "example", "hands_on", "retrieval")
GROUPS = ("novices", "intermediates", "experts")
#: How much one activity of each type can teach (before affinity, fit and the rest).
TYPE_TEACH = {
    "lesson": 1.0,
    "worked_example": 1.0,
    "practice": 1.3,
    "quiz": 0.3,
    "refresher": 0.25,
    "placement_item": 0.03,
}
#: Share of a skill's decaying (labile) part that a spaced re-study makes durable.
TYPE_CONSOLIDATE = {
    "lesson": 0.25,
    "worked_example": 0.25,
    "practice": 0.4,
    "quiz": 0.55,
    "refresher": 0.7,
    "placement_item": 0.1,
}
#: An activity at level L can take a learner up to L + CEILING, never further.
CEILING = 0.5
#: Prerequisites this far below the requirement slow learning to its minimum.
PREREQ_SLACK = 0.75
#: Days over which spacing saturates: re-study within minutes consolidates little.
SPACING_DAYS = 1.5

Activity = str | Mapping[str, Any]


def prerequisite_requirement(level: int) -> float:
    """The prerequisite proficiency at which learning at `level` runs at full speed."""
    return float(min(level - 1, 2))


@dataclass(frozen=True)
class _Act:
    key: str
    index: int
    type: str
    duration: float
    difficulty: float
    style: int
    quality: float
    #: (skill index, level, weight); the first is the main skill.
    tags: tuple[tuple[int, int, float], ...]
    questions: tuple[QuestionRef, ...]


@dataclass(frozen=True)
class World:
    """The catalogue and its side table, indexed for fast simulation."""

    skill_keys: tuple[str, ...]
    skill_index: dict[str, int]
    prerequisites: tuple[tuple[int, ...], ...]
    activities: dict[str, _Act]
    order: tuple[_Act, ...]
    roles: dict[str, dict[str, int]]
    side: SideParams

    @classmethod
    def build(cls, catalogue: Mapping[str, Any], side: SideParams) -> World:
        keys = tuple(s["key"] for s in catalogue["skills"])
        index = {k: i for i, k in enumerate(keys)}
        prereqs = tuple(
            tuple(index[p] for p in s.get("prerequisites", []))
            for s in catalogue["skills"]
        )
        acts: dict[str, _Act] = {}
        for i, a in enumerate(catalogue["activities"]):
            hidden = side.activities[a["key"]]
            questions = a.get("content", {}).get("questions", [])
            acts[a["key"]] = _Act(
                key=a["key"],
                index=i,
                type=a["type"],
                duration=float(a["duration_min"]),
                difficulty=float(a.get("difficulty", 0.0)),
                style=STYLES.index(hidden.style),
                quality=hidden.quality,
                tags=tuple(
                    (index[t["skill"]], int(t["level"]), float(t.get("weight", 1.0)))
                    for t in a["skills"]
                ),
                questions=tuple(
                    QuestionRef(a["key"], q) for q in range(len(questions))
                ),
            )
        roles = {
            r["key"]: {k: int(v) for k, v in r["targets"].items() if int(v) > 0}
            for r in catalogue.get("roles", [])
        }
        return cls(keys, index, prereqs, acts, tuple(acts.values()), roles, side)


@dataclass(frozen=True)
class LearnerProfile:
    """Everything fixed about one simulated learner, drawn once per population."""

    learner_id: str
    group: str
    role: str
    seed: int
    theta0: tuple[float, ...]
    rate: float
    speed: float
    durable_share: float
    forget_per_day: float
    lapse: float
    affinity: tuple[float, ...]
    fit: tuple[float, ...]
    session_minutes: tuple[float, float]
    skip_day: float


@dataclass(eq=False)
class Learner:
    """One learner's true, evolving state; tutors other than the oracle never read it.

    Each skill has a durable floor and a labile part that decays toward it. Times
    (`now`) are minutes on the simulation clock and must not run backwards.
    """

    profile: LearnerProfile
    world: World
    _floor: list[float] = field(init=False)
    _labile: list[float] = field(init=False)
    _t_ref: list[float] = field(init=False)
    _last_study: list[float | None] = field(init=False)
    _reviews: list[int] = field(init=False)
    _repeats: list[int] = field(init=False)
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        n = len(self.world.skill_keys)
        self._floor = list(self.profile.theta0)
        self._labile = [0.0] * n
        self._t_ref = [0.0] * n
        self._last_study = [None] * n
        self._reviews = [0] * n
        self._repeats = [0] * len(self.world.order)
        self._rng = random.Random(self.profile.seed)

    # -- identity ----------------------------------------------------------------------

    @property
    def learner_id(self) -> str:
        return self.profile.learner_id

    @property
    def group(self) -> str:
        return self.profile.group

    @property
    def role(self) -> str:
        return self.profile.role

    @property
    def targets(self) -> dict[str, int]:
        return self.world.roles[self.profile.role]

    def fresh(self) -> Learner:
        """The same learner back at the start, so every tutor meets the same person."""
        return Learner(self.profile, self.world)

    # -- the public API ----------------------------------------------------------------

    def true_level(self, skill: str, now: float) -> float:
        return self._level(self.world.skill_index[skill], now)

    def meets(self, role_targets: Mapping[str, int], now: float) -> bool:
        return all(
            self.true_level(skill, now) >= target - 1e-9
            for skill, target in role_targets.items()
        )

    def answer(self, question_ref: QuestionRef, now: float) -> bool:
        """Answer one question: 3PL on the main skill, then a chance of a lapse."""
        act = self.world.activities[question_ref.activity]
        p = self.p_correct(question_ref, self._level(act.tags[0][0], now))
        return self._rng.random() < p

    def p_correct(self, question_ref: QuestionRef, theta: float) -> float:
        """The chance of a right answer at proficiency `theta` (exposed for tests)."""
        item = self.world.side.questions[question_ref]
        logistic = 1.0 / (
            1.0 + math.exp(-item.discrimination * (theta - item.difficulty))
        )
        p = item.guessing + (1.0 - item.guessing) * logistic
        return p * (1.0 - self.profile.lapse)

    def study(self, activity: Activity, now: float) -> None:
        """Take one activity at `now`: learn, consolidate, count the repetition."""
        act = self._act(activity)
        gains = dict(self._gains(act, now))
        consolidate = TYPE_CONSOLIDATE[act.type]
        share = self.profile.durable_share
        for skill, _level, _weight in act.tags:
            labile = self._decayed_labile(skill, now)
            last = self._last_study[skill]
            if last is not None:
                spacing = 1.0 - math.exp(-(now - last) / MINUTES_PER_DAY / SPACING_DAYS)
                moved = labile * consolidate * spacing
                self._floor[skill] += moved
                labile -= moved
                if spacing > 0.5:
                    self._reviews[skill] += 1
            gain = gains.get(skill, 0.0)
            self._floor[skill] += share * gain
            self._labile[skill] = labile + (1.0 - share) * gain
            self._t_ref[skill] = now
            self._last_study[skill] = now
        self._repeats[act.index] += 1

    def expected_gain(self, activity: Activity, now: float) -> dict[str, float]:
        """What studying `activity` at `now` would add per skill (the oracle's view)."""
        act = self._act(activity)
        keys = self.world.skill_keys
        return {keys[s]: g for s, g in self._gains(act, now)}

    def expected_minutes(self, activity: Activity) -> float:
        return self._act(activity).duration * self.profile.speed

    def minutes_for(self, activity: Activity) -> float:
        """Minutes this learner actually takes this time (noisy around the mean)."""
        return self.expected_minutes(activity) * self._rng.lognormvariate(0.0, 0.15)

    def session_plan(self) -> random.Random:
        """A private generator for this learner's study calendar (same for all tutors)."""
        return random.Random(self.profile.seed * 7919 + 17)

    def force_level(self, skill: str, value: float) -> None:
        """Set a skill's proficiency as durable (for calibration checks and tests)."""
        i = self.world.skill_index[skill]
        self._floor[i] = value
        self._labile[i] = 0.0

    # -- the model ---------------------------------------------------------------------

    def _act(self, activity: Activity) -> _Act:
        key = activity if isinstance(activity, str) else str(activity["key"])
        return self.world.activities[key]

    def _stability_days(self, skill: int) -> float:
        return (1.0 + 0.5 * self._reviews[skill]) / self.profile.forget_per_day

    def _decayed_labile(self, skill: int, now: float) -> float:
        labile = self._labile[skill]
        if labile == 0.0:
            return 0.0
        days = max(0.0, now - self._t_ref[skill]) / MINUTES_PER_DAY
        return labile * math.exp(-days / self._stability_days(skill))

    def _level(self, skill: int, now: float) -> float:
        return self._floor[skill] + self._decayed_labile(skill, now)

    def _gains(self, act: _Act, now: float) -> list[tuple[int, float]]:
        p = self.profile
        base = (
            p.rate
            * p.affinity[act.style]
            * p.fit[act.index]
            * act.quality
            * TYPE_TEACH[act.type]
            / (1.0 + 0.8 * self._repeats[act.index])
        )
        tolerance = 1.0 - 0.4 * act.difficulty
        out = []
        for skill, level, weight in act.tags:
            theta = self._level(skill, now)
            room = level + CEILING - theta
            if room <= 0.0:
                continue
            gap = level - theta
            zpd = (
                1.0 if gap <= tolerance else math.exp(-(((gap - tolerance) / 0.6) ** 2))
            )
            eta = base * weight * self._prerequisite_factor(skill, level, now)
            out.append((skill, room * zpd * (1.0 - math.exp(-eta))))
        return out

    def _prerequisite_factor(self, skill: int, level: int, now: float) -> float:
        need = prerequisite_requirement(level)
        factor = 1.0
        if need <= 0.0:
            return factor
        for p in self.world.prerequisites[skill]:
            short = (self._level(p, now) - need + PREREQ_SLACK) / PREREQ_SLACK
            factor *= 0.2 + 0.8 * min(1.0, max(0.0, short))
        return factor


def make_population(
    catalogue: Mapping[str, Any],
    side_params: SideParams,
    group: str,
    n: int,
    seed: int,
) -> list[Learner]:
    """`n` learners of one group, roles taken in turn; same arguments, same people.

    Novices start near 0 everywhere; intermediates already meet about a third of
    their role's targets and are part-way on the rest; experts meet most targets
    (all but one to three) and are well along on everything else.
    """
    if group not in GROUPS:
        raise ValueError(f"unknown group {group!r} (expected one of {GROUPS})")
    world = World.build(catalogue, side_params)
    rng = np.random.default_rng(seed)
    roles = list(world.roles)
    people = []
    for i in range(n):
        role = roles[i % len(roles)]
        targets = world.roles[role]
        theta0 = _initial_levels(rng, group, targets, world.skill_keys)
        affinity = np.exp(rng.normal(0.0, 0.45, len(STYLES)))
        if rng.random() < 0.5:
            affinity[int(rng.integers(0, len(STYLES) - 1))] = rng.uniform(0.1, 0.3)
        if rng.random() < 0.5:
            affinity[int(rng.integers(0, len(STYLES) - 1))] *= rng.uniform(1.5, 2.2)
        fit = rng.lognormal(0.0, 0.3, len(world.order))
        fit[rng.random(len(world.order)) < 0.12] *= 0.15
        short = float(rng.uniform(25.0, 45.0))
        profile = LearnerProfile(
            learner_id=f"{group}-{seed}-{i:03d}",
            group=group,
            role=role,
            seed=int(rng.integers(2**31)),
            theta0=tuple(float(t) for t in theta0),
            rate=float(rng.lognormal(np.log(1.0), 0.25)),
            speed=float(np.clip(rng.lognormal(0.0, 0.2), 0.6, 1.7))
            * (0.9 if group == "experts" else 1.0),
            durable_share=float(rng.uniform(0.65, 0.85)),
            forget_per_day=float(rng.lognormal(np.log(0.035), 0.35)),
            lapse=float(rng.uniform(0.0, 0.05)),
            affinity=tuple(float(a) for a in affinity),
            fit=tuple(float(f) for f in fit),
            session_minutes=(short, short + float(rng.uniform(10.0, 25.0))),
            skip_day=float(rng.uniform(0.1, 0.4)),
        )
        people.append(Learner(profile, world))
    return people


def _initial_levels(
    rng: np.random.Generator,
    group: str,
    targets: Mapping[str, int],
    skill_keys: Sequence[str],
) -> list[float]:
    levels = []
    gaps = 0
    for key in skill_keys:
        target = targets.get(key)
        if group == "novices":
            value = (
                rng.uniform(0.6, 1.5) if rng.random() < 0.15 else rng.uniform(0, 0.6)
            )
        elif target is None:
            low, high = (0.3, 2.0) if group == "intermediates" else (1.5, 3.5)
            value = rng.uniform(low, high)
        elif rng.random() < (0.35 if group == "intermediates" else 0.8):
            value = target + rng.uniform(0.05, 0.9)
        else:
            low, high = (0.4, 1.6) if group == "intermediates" else (0.3, 1.3)
            value = target - rng.uniform(low, high)
            gaps += 1
        levels.append(float(np.clip(value, 0.0, 5.0)))
    if group != "novices" and gaps == 0 and targets:
        key = list(targets)[int(rng.integers(len(targets)))]
        i = list(skill_keys).index(key)
        levels[i] = max(0.0, targets[key] - float(rng.uniform(0.3, 1.3)))
    return levels
