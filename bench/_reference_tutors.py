"""A minimal tutor interface, two reference tutors and the driver that runs them.

Any tutor (the Pathwise engine included, once wrapped) answers `next_step(state)` with
an activity to take, `DONE` or `BLOCKED(reason)`, and is told what happened through
`record(activity, responses, minutes, now)`. The two references bracket the engine:

* `LinearTutor` is the module's authored order, each activity once: what learners get
  without adaptation.
* `OracleTutor` reads the learner's true state and greedily takes the activity with
  the best true gain per minute toward unmet targets: a bound no real tutor can beat
  on time, and it stops exactly when the targets are truly met.

`run` plays every learner through a tutor on a clock with daily sessions and idle days
and reports what happened in the learner's true state, not what the tutor believes.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from bench._catalogue_gen import QuestionRef
from bench._misspecified_learners import (
    MINUTES_PER_DAY,
    PREREQ_SLACK,
    Learner,
    prerequisite_requirement,
)

RETENTION_DAYS = 30
SESSION_START_HOURS = (8.0, 20.0)


class StepKind(Enum):
    ACTIVITY = "activity"
    DONE = "done"
    BLOCKED = "blocked"


@dataclass(frozen=True)
class Step:
    """A tutor's decision; `refresher` marks spaced review of something already met."""

    kind: StepKind
    activity: str | None = None
    reason: str = ""
    refresher: bool = False


DONE = Step(StepKind.DONE)


def BLOCKED(reason: str) -> Step:
    return Step(StepKind.BLOCKED, reason=reason)


def take(activity: str, *, refresher: bool = False) -> Step:
    return Step(StepKind.ACTIVITY, activity=activity, refresher=refresher)


@dataclass(frozen=True)
class TutorState:
    """What the driver tells a tutor before each decision."""

    now: float
    active_minutes: float
    session_minutes_left: float
    day: int
    #: True after the tutor said DONE: the 30-day window where refreshers may follow.
    follow_up: bool = False


@dataclass(frozen=True)
class Response:
    question: QuestionRef
    correct: bool


@dataclass(frozen=True)
class TutorContext:
    """What a tutor is built from. `truth` is the learner: only the oracle may read it."""

    catalogue: Mapping[str, Any]
    module: str
    role: str
    targets: Mapping[str, int]
    learner_id: str
    truth: Learner


class Tutor(Protocol):
    def next_step(self, state: TutorState) -> Step: ...

    def record(
        self,
        activity: str,
        responses: Sequence[Response],
        minutes: float,
        now: float,
    ) -> None: ...


TutorFactory = Callable[[TutorContext], Tutor]


@dataclass
class LinearTutor:
    """The authored course from start to finish, each activity once, then DONE."""

    context: TutorContext
    position: int = 0
    order: list[str] = field(init=False)
    types: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        module = next(
            m
            for m in self.context.catalogue["modules"]
            if m["key"] == self.context.module
        )
        self.order = list(module["activities"])
        self.types = {a["key"]: a["type"] for a in self.context.catalogue["activities"]}

    def next_step(self, state: TutorState) -> Step:
        if self.position >= len(self.order):
            return DONE
        key = self.order[self.position]
        self.position += 1
        return take(key, refresher=self.types[key] == "refresher")

    def record(
        self, activity: str, responses: Sequence[Response], minutes: float, now: float
    ) -> None:
        """The authored course ignores what happens."""


@dataclass
class OracleTutor:
    """Greedy on the learner's true gain per minute toward unmet targets.

    Prerequisites of unmet targets become sub-goals: at the level that lets the target
    be learnt at full speed, and high enough to open the next level's activities as a
    way round explanations that do not land. An activity whose main skill's
    prerequisites are so weak that learning would crawl is not offered. Once the targets are met it says DONE and
    stays done.
    """

    context: TutorContext
    finished: bool = False
    _candidates: dict[str, list[str]] = field(init=False)
    _main: dict[str, tuple[str, int]] = field(init=False)
    _prereqs: dict[str, list[str]] = field(init=False)
    _order: list[str] = field(init=False)
    _top: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        catalogue = self.context.catalogue
        self._order = [s["key"] for s in catalogue["skills"]]
        self._prereqs = {
            s["key"]: list(s.get("prerequisites", [])) for s in catalogue["skills"]
        }
        self._candidates = {key: [] for key in self._order}
        self._main = {}
        self._top = dict.fromkeys(self._order, 1)
        for a in catalogue["activities"]:
            if a["type"] == "placement_item":
                continue
            main, level = a["skills"][0]["skill"], int(a["skills"][0]["level"])
            self._main[a["key"]] = (main, level)
            self._top[main] = max(self._top[main], level)
            for tag in a["skills"]:
                self._candidates[tag["skill"]].append(a["key"])

    def next_step(self, state: TutorState) -> Step:
        truth, now = self.context.truth, state.now
        if self.finished or truth.meets(self.context.targets, now):
            self.finished = True
            return DONE
        level = {s: truth.true_level(s, now) for s in self._order}
        need = self._needs(level)
        keys = dict.fromkeys(
            key for s, n in need.items() if level[s] < n for key in self._candidates[s]
        )
        best, best_score = None, 0.0
        for key in keys:
            skill, lvl = self._main[key]
            floor = prerequisite_requirement(lvl) - PREREQ_SLACK
            if any(level[p] < floor for p in self._prereqs[skill]):
                continue
            value = sum(
                min(level[s] + g, need[s]) - min(level[s], need[s])
                for s, g in truth.expected_gain(key, now).items()
                if s in need
            )
            score = value / truth.expected_minutes(key)
            if score > best_score + 1e-12:
                best, best_score = key, score
        if best is None:
            return BLOCKED("no activity moves an unmet target")
        return take(best)

    def record(
        self, activity: str, responses: Sequence[Response], minutes: float, now: float
    ) -> None:
        """The oracle reads the truth instead."""

    def _needs(self, level: Mapping[str, float]) -> dict[str, float]:
        """Unmet targets, plus what their prerequisites need for full-speed learning."""
        need: dict[str, float] = {
            s: float(t) for s, t in self.context.targets.items() if level[s] < t - 1e-9
        }
        for skill in reversed(self._order):
            if skill not in need or level[skill] >= need[skill]:
                continue
            level_needed = math.ceil(need[skill] - 1e-9)
            unlock = min(level_needed + 1, self._top[skill])
            required = max(
                prerequisite_requirement(level_needed),
                prerequisite_requirement(unlock) - PREREQ_SLACK,
            )
            for p in self._prereqs[skill]:
                need[p] = max(need.get(p, 0.0), required)
        return need


def linear_tutor(context: TutorContext) -> Tutor:
    return LinearTutor(context)


def oracle_tutor(context: TutorContext) -> Tutor:
    return OracleTutor(context)


@dataclass(frozen=True)
class Outcome:
    """One learner's run, judged on the true state."""

    learner_id: str
    group: str
    role: str
    #: Targets truly met at some moment of the run.
    reached: bool
    #: Active (study) minutes when the targets were first truly met; None if never.
    minutes_to_targets: float | None
    #: Calendar days from the first session to that moment.
    days_to_targets: float | None
    #: Active minutes when the tutor said DONE; None if it never did.
    minutes_to_done: float | None
    active_minutes: float
    #: "done", "blocked" or "cap" (time or step limit).
    stop: str
    blocked_reason: str
    #: The tutor said DONE while the targets were truly unmet.
    false_done: bool
    refresher_minutes: float
    follow_up_minutes: float
    #: Share of the role's targeted skills at target 30 days after finishing.
    retention_30d: float
    steps: int


def run(
    tutor_factory: TutorFactory,
    catalogue: Mapping[str, Any],
    learners: Sequence[Learner],
    *,
    time_cap_minutes: float,
    max_steps: int = 5000,
) -> list[Outcome]:
    """Play each learner (a fresh copy) through a tutor built by `tutor_factory`."""
    module = catalogue["modules"][0]["key"]
    return [
        _run_one(
            tutor_factory, catalogue, module, base.fresh(), time_cap_minutes, max_steps
        )
        for base in learners
    ]


@dataclass
class _Clock:
    """Sessions of 25-70 minutes a day, some days skipped, at varying hours."""

    learner: Learner
    day: int = 0
    now: float = 0.0
    budget: float = 0.0

    def __post_init__(self) -> None:
        self._rng = self.learner.session_plan()
        self.start_session()

    def start_session(self) -> None:
        self.now = self.day * MINUTES_PER_DAY + 60.0 * self._rng.uniform(
            *SESSION_START_HOURS
        )
        self.budget = self._rng.uniform(*self.learner.profile.session_minutes)

    def next_day(self) -> None:
        self.day += 1
        while self._rng.random() < self.learner.profile.skip_day:
            self.day += 1
        self.start_session()


def _take(
    tutor: Tutor, learner: Learner, activity: str, now: float
) -> tuple[float, list[Response]]:
    """One activity: answer its questions, learn from it, report; returns minutes."""
    act = learner.world.activities[activity]
    responses = [Response(q, learner.answer(q, now)) for q in act.questions]
    minutes = learner.minutes_for(activity)
    learner.study(activity, now + minutes)
    tutor.record(activity, responses, minutes, now + minutes)
    return minutes, responses


def _run_one(
    factory: TutorFactory,
    catalogue: Mapping[str, Any],
    module: str,
    learner: Learner,
    cap: float,
    max_steps: int,
) -> Outcome:
    targets = learner.targets
    tutor = factory(
        TutorContext(
            catalogue, module, learner.role, targets, learner.learner_id, learner
        )
    )
    clock = _Clock(learner)
    start = clock.now
    active = refresher = 0.0
    steps = 0
    first_met: float | None = 0.0 if learner.meets(targets, clock.now) else None
    first_met_at = clock.now if first_met is not None else None
    done_at: float | None = None
    stop, reason, false_done = "", "", False
    while not stop:
        used = 0.0
        while used < clock.budget and not stop:
            state = TutorState(clock.now, active, clock.budget - used, clock.day)
            step = tutor.next_step(state)
            if step.kind is StepKind.DONE:
                stop, done_at = "done", active
                false_done = not learner.meets(targets, clock.now)
                break
            if step.kind is StepKind.BLOCKED:
                stop, reason = "blocked", step.reason
                break
            assert step.activity is not None
            minutes, _ = _take(tutor, learner, step.activity, clock.now)
            clock.now += minutes
            used += minutes
            active += minutes
            steps += 1
            refresher += minutes if step.refresher else 0.0
            if first_met is None and learner.meets(targets, clock.now):
                first_met, first_met_at = active, clock.now
            if active >= cap or steps >= max_steps:
                stop = "cap"
        if not stop:
            clock.next_day()
    finish = clock.now
    follow_up = 0.0
    if stop == "done":
        follow_up, extra_refresher = _follow_up(tutor, learner, clock, active, finish)
        refresher += extra_refresher
    horizon = finish + RETENTION_DAYS * MINUTES_PER_DAY
    kept = sum(learner.true_level(s, horizon) >= t - 1e-9 for s, t in targets.items())
    return Outcome(
        learner_id=learner.learner_id,
        group=learner.group,
        role=learner.role,
        reached=first_met is not None,
        minutes_to_targets=first_met,
        days_to_targets=None
        if first_met_at is None
        else (first_met_at - start) / MINUTES_PER_DAY,
        minutes_to_done=done_at,
        active_minutes=active,
        stop=stop,
        blocked_reason=reason,
        false_done=false_done,
        refresher_minutes=refresher,
        follow_up_minutes=follow_up,
        retention_30d=kept / len(targets) if targets else 1.0,
        steps=steps,
    )


def _follow_up(
    tutor: Tutor, learner: Learner, clock: _Clock, active: float, finish: float
) -> tuple[float, float]:
    """After DONE, give the tutor one session a day for 30 days to schedule review.

    Returns (all follow-up minutes, the refresher-labelled part).
    """
    total = refresher = 0.0
    end = finish + RETENTION_DAYS * MINUTES_PER_DAY
    clock.next_day()
    while clock.now < end:
        used = 0.0
        while used < clock.budget:
            state = TutorState(
                clock.now, active + total, clock.budget - used, clock.day, True
            )
            step = tutor.next_step(state)
            if step.kind is not StepKind.ACTIVITY or step.activity is None:
                break
            minutes, _ = _take(tutor, learner, step.activity, clock.now)
            clock.now += minutes
            used += minutes
            total += minutes
            refresher += minutes if step.refresher else 0.0
        clock.next_day()
    return total, refresher


def _median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else math.nan


def _ratio(numerator: float, denominator: float) -> float:
    if math.isinf(numerator) and math.isinf(denominator):
        return math.nan
    if denominator == 0.0:
        return math.inf if numerator > 0 else math.nan
    return numerator / denominator


def summarise(
    outcomes: Sequence[Outcome], linear_outcomes: Sequence[Outcome]
) -> dict[str, float]:
    """Headline figures for one tutor on one population, against the linear course.

    Non-reachers count as infinitely slow, so a median is finite only if more than
    half reach; the speedup is the ratio of the two medians (linear / this tutor).
    """

    def minutes(rows: Sequence[Outcome]) -> list[float]:
        return [
            o.minutes_to_targets if o.minutes_to_targets is not None else math.inf
            for o in rows
        ]

    def done_minutes(rows: Sequence[Outcome]) -> list[float]:
        return [
            o.minutes_to_done
            if o.minutes_to_done is not None and not o.false_done
            else math.inf
            for o in rows
        ]

    n = len(outcomes)
    median = _median(minutes(outcomes))
    median_done = _median(done_minutes(outcomes))
    return {
        "reach_share": sum(o.reached for o in outcomes) / n if n else math.nan,
        "false_done_share": sum(o.false_done for o in outcomes) / n if n else math.nan,
        "median_minutes": median,
        "median_minutes_to_done": median_done,
        "speedup_vs_linear": _ratio(_median(minutes(linear_outcomes)), median),
        "retention_30d": statistics.fmean(o.retention_30d for o in outcomes)
        if n
        else math.nan,
        "refresher_minutes": statistics.fmean(o.refresher_minutes for o in outcomes)
        if n
        else math.nan,
    }
