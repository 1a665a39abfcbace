"""The ``bkt`` population: learners that follow the engine's own model, for the judge's driver.

``_simulated_learners.SimLearner`` (discrete levels, slip/guess answers, learning one
level per activity with a per-learner aptitude, repeats teaching less, missing
prerequisites cutting learning, forgetting a level at a time overnight) on the
12-skill modules of ``build_course``. Both are wrapped so the driver of
``_reference_tutors.run`` plays them exactly like the misspecified learners: the same
tutors (linear, the engines, an oracle), the same calendar, the same figures.

Differences from the old ``simulate.py`` arms, on purpose: the learner answers an
activity's questions before it learns from it (plain BKT order) and forgetting is
applied once per calendar day the clock crosses.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from adaptive.core.catalogue import Catalog
from bench._misspecified_learners import MINUTES_PER_DAY
from bench._reference_tutors import BLOCKED, DONE, Response, Step, TutorContext, take
from bench._reference_tutors import TutorState as _TutorState
from bench._simulated_learners import SimLearner, learn_probability, make_learner

GROUP_NAMES = {
    "novices": "novice",
    "intermediates": "intermediate",
    "experts": "expert",
}
SESSION_MINUTES = (25.0, 45.0)
SKIP_DAY = 0.2
ROLE = "bkt-role"
MODULE = "bkt-course"


@dataclass(frozen=True)
class BktCourse:
    """A ``build_course`` module as a catalogue document plus what the learners need."""

    doc: Mapping[str, Any]
    catalog: Catalog
    targets: dict[int, int]
    prerequisites: dict[int, tuple[int, ...]]
    key_of_skill: dict[int, str]
    skill_of_key: dict[str, int]
    activity_of_key: dict[str, int]


def course_document(
    catalog: Catalog,
    targets: Mapping[int, int],
    prerequisites: Mapping[int, Sequence[int]],
    *,
    seed: int,
) -> BktCourse:
    """The module as a ``pathwise-catalogue`` document the product's importer accepts."""
    key_of_skill = {s.id: s.key for s in catalog.skills.values()}
    activities = []
    for a in catalog.activities.values():
        questions = [
            {
                "prompt": f"{a.title}, question {q + 1}",
                "options": ["A. right", "B. wrong"],
                "answer": 0,
                "explanation": "A is right.",
            }
            for q in range(a.n_items)
        ]
        content: dict[str, Any] = {"markdown": f"{a.title}.\n"}
        if questions:
            content["questions"] = questions
        activity: dict[str, Any] = {
            "key": a.key,
            "title": a.title,
            "type": a.kind,
            "duration_min": a.duration_min,
            "difficulty": a.difficulty,
            "target_level": a.target_level,
            "skills": [
                {
                    "skill": key_of_skill[lk.skill_id],
                    "weight": lk.weight,
                    "level": lk.level,
                }
                for lk in a.skills
            ],
            "content": content,
        }
        if a.explanation_group:
            activity["explanation_group"] = a.explanation_group
        activities.append(activity)
    doc = {
        "format": "pathwise-catalogue",
        "version": 1,
        "framework": {
            "key": f"bench-bkt-{seed}",
            "name": f"BKT bench course (seed {seed})",
            "scale": list(catalog.scale),
        },
        "skills": [
            {
                "key": s.key,
                "name": s.name,
                "prerequisites": [key_of_skill[p] for p in prerequisites.get(s.id, ())],
            }
            for s in catalog.skills.values()
        ],
        "roles": [
            {
                "key": ROLE,
                "name": "BKT bench role",
                "targets": {key_of_skill[s]: t for s, t in targets.items()},
            }
        ],
        "activities": activities,
        "modules": [
            {
                "key": MODULE,
                "title": "BKT bench course",
                "default_role": ROLE,
                "activities": [catalog.activities[i].key for i in catalog.module_order],
            }
        ],
    }
    return BktCourse(
        doc=doc,
        catalog=catalog,
        targets=dict(targets),
        prerequisites={s: tuple(p) for s, p in prerequisites.items()},
        key_of_skill=key_of_skill,
        skill_of_key={k: s for s, k in key_of_skill.items()},
        activity_of_key={a.key: a.id for a in catalog.activities.values()},
    )


@dataclass(frozen=True)
class _Profile:
    session_minutes: tuple[float, float]
    skip_day: float


@dataclass(frozen=True)
class _Question:
    activity: str
    index: int


@dataclass(frozen=True)
class _Act:
    questions: tuple[_Question, ...]


@dataclass
class _World:
    activities: dict[str, _Act]


@dataclass(eq=False)
class BktLearner:
    """A ``SimLearner`` behind the interface ``_reference_tutors.run`` drives."""

    course: BktCourse
    group: str
    seed: int
    learner_id: str
    sim: SimLearner = field(init=False)
    world: _World = field(init=False)
    profile: _Profile = field(init=False)
    _rng: np.random.Generator = field(init=False)
    _day: int = 0

    def __post_init__(self) -> None:
        self.sim = make_learner(
            np.random.default_rng(self.seed),
            GROUP_NAMES[self.group],
            targets=self.course.targets,
            prerequisites=self.course.prerequisites,
            topo_order=self.course.catalog.graph.order,
        )
        self._rng = np.random.default_rng(self.seed + 1)
        self.profile = _Profile(SESSION_MINUTES, SKIP_DAY)
        self.world = _World(
            {
                key: _Act(tuple(_Question(key, q) for q in range(a.n_items)))
                for key, a in (
                    (a.key, a) for a in self.course.catalog.activities.values()
                )
            }
        )

    @property
    def role(self) -> str:
        return ROLE

    @property
    def targets(self) -> dict[str, int]:
        return {self.course.key_of_skill[s]: t for s, t in self.course.targets.items()}

    def fresh(self) -> BktLearner:
        return BktLearner(self.course, self.group, self.seed, self.learner_id)

    def session_plan(self) -> random.Random:
        return random.Random(self.seed * 7919 + 17)

    def _advance(self, now: float) -> None:
        day = int(now // MINUTES_PER_DAY)
        while self._day < day:
            self._day += 1
            self.sim.forget_one_day(self._rng)

    def level_of(self, skill_id: int, now: float) -> int:
        self._advance(now)
        return self.sim.level.get(skill_id, 0)

    def true_level(self, skill: str, now: float) -> float:
        skill_id = self.course.skill_of_key[skill]
        return float(self.level_of(skill_id, now))

    def meets(self, role_targets: Mapping[str, int], now: float) -> bool:
        return all(self.true_level(s, now) >= t for s, t in role_targets.items())

    def answer(self, question: _Question, now: float) -> bool:
        self._advance(now)
        activity = self.course.catalog.activities[
            self.course.activity_of_key[question.activity]
        ]
        link = activity.skills[0]
        return self.sim.answer(self._rng, link.skill_id, link.level)

    def minutes_for(self, activity: str) -> float:
        return self.expected_minutes(activity)

    def expected_minutes(self, activity: str) -> float:
        return self.course.catalog.activities[
            self.course.activity_of_key[activity]
        ].duration_min

    def p_learn(self, activity_id: int, now: float) -> float:
        """The chance the activity lifts its main skill a level now (the oracle's view)."""
        self._advance(now)
        activity = self.course.catalog.activities[activity_id]
        link = activity.skills[0]
        return learn_probability(
            self.sim,
            kind=activity.kind,
            skill_id=link.skill_id,
            level=link.level,
            activity_id=activity_id,
            prerequisites_ready=self._ready(link.skill_id, link.level),
        )

    def _ready(self, skill_id: int, level: int) -> bool:
        return all(
            self.sim.level.get(p, 0) >= min(level, self.course.targets.get(p, 1))
            for p in self.course.prerequisites.get(skill_id, ())
        )

    def study(self, activity: str, now: float) -> None:
        """Learn from the activity (after its questions were answered), then practise."""
        self._advance(now)
        activity_id = self.course.activity_of_key[activity]
        info = self.course.catalog.activities[activity_id]
        for link in info.skills:
            p = learn_probability(
                self.sim,
                kind=info.kind,
                skill_id=link.skill_id,
                level=link.level,
                activity_id=activity_id,
                prerequisites_ready=self._ready(link.skill_id, link.level),
            )
            if self._rng.random() < p:
                self.sim.level[link.skill_id] = link.level
            self.sim.practise(link.skill_id, link.level, self._day)
        self.sim.seen[activity_id] = self.sim.seen.get(activity_id, 0) + 1


def make_bkt_population(
    course: BktCourse, group: str, n: int, seed: int
) -> list[BktLearner]:
    return [
        BktLearner(course, group, seed * 10_007 + i, f"bkt-{seed}-{group}-{i}")
        for i in range(n)
    ]


@dataclass
class BktOracle:
    """Reads the true levels: works the unmet targets in prerequisite order, each time
    the activity with the best chance of a level per minute; DONE exactly when met."""

    context: TutorContext
    course: BktCourse
    finished: bool = False

    def next_step(self, state: _TutorState) -> Step:
        truth = self.context.truth
        assert isinstance(truth, BktLearner)
        now = state.now
        if self.finished or truth.meets(self.context.targets, now):
            self.finished = True
            return DONE
        need = dict(self.course.targets)
        for skill in reversed(self.course.catalog.graph.order):
            if skill in need and truth.level_of(skill, now) < need[skill]:
                for p in self.course.prerequisites.get(skill, ()):
                    need[p] = max(need.get(p, 0), min(need[skill], need.get(p, 1)))
        best, best_score = None, 0.0
        for activity in self.course.catalog.activities.values():
            link = activity.skills[0]
            if truth.level_of(link.skill_id, now) >= need.get(link.skill_id, 0):
                continue
            score = truth.p_learn(activity.id, now) / max(activity.duration_min, 1e-6)
            if score > best_score + 1e-12:
                best, best_score = activity.key, score
        if best is None:
            return BLOCKED("no activity moves an unmet target")
        return take(best)

    def record(
        self, activity: str, responses: Sequence[Response], minutes: float, now: float
    ) -> None:
        """The oracle reads the truth instead."""


def bkt_oracle_factory(course: BktCourse) -> Any:
    def factory(context: TutorContext) -> BktOracle:
        return BktOracle(context, course)

    return factory


__all__ = [
    "BktCourse",
    "BktLearner",
    "BktOracle",
    "bkt_oracle_factory",
    "course_document",
    "make_bkt_population",
]
