"""Bench: simulated learners through the linear course and through Pathwise's adaptive path.

Both arms use the same catalogue, role targets and hidden learners (same seeds). The
linear course is every activity of the module in authored order; the adaptive path is
placement + the sequencing policy + the real learner model and FSRS refreshers, which
only ever see the learners' answers. "Time to targets" is the minutes until the hidden
true skills meet every target (the same rule for both arms); 30 days after finishing,
we measure true mastery again (adaptive learners do the refreshers that fall due,
at most ``--refresh-min`` minutes a day; the linear course has none).

Run: ``python bench/simulate.py`` (about a minute) or ``--quick`` (a few seconds).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _simulated_learners import GROUPS, SimLearner, learn_probability, make_learner

from adaptive.catalog import ActivityInfo, Catalog, SkillInfo, SkillLink
from adaptive.learner import LearnerModel, Observation
from adaptive.placement import (
    PlacementConfig,
    Probe,
    next_placement_step,
    placement_observation,
)
from adaptive.policy import (
    AttemptRecord,
    PolicyConfig,
    PolicyInput,
    mastery_reached,
    next_step,
)
from adaptive.refresh import RefreshScheduler, RefreshState

START = dt.datetime(2025, 1, 6, 9, 0, tzinfo=dt.UTC)
SESSION_MIN = 30.0
PLACEMENT_QUESTION_MIN = 1.0
FOLLOW_UP_DAYS = 30


@dataclass
class Course:
    catalog: Catalog
    targets: dict[int, int]
    prerequisites: dict[int, tuple[int, ...]]
    probes: list[Probe]
    module_minutes: float


def build_course(seed: int, n_skills: int = 12) -> Course:
    """A module for one role: per skill and level up to its target, a lesson, a worked
    example (the lesson's alternative explanation) and a practice quiz; plus one short
    refresher per skill, which is not part of the authored module."""
    rng = np.random.default_rng(seed)
    skills = [
        SkillInfo(id=i, key=f"s{i}", name=f"Skill {i}") for i in range(1, n_skills + 1)
    ]
    prerequisites: dict[int, tuple[int, ...]] = {}
    edges: list[tuple[int, int]] = []
    for i in range(1, n_skills + 1):
        pool = list(range(max(1, i - 4), i))
        k = int(rng.integers(0, min(2, len(pool)) + 1)) if pool else 0
        pre = (
            tuple(sorted(int(p) for p in rng.choice(pool, size=k, replace=False)))
            if k
            else ()
        )
        prerequisites[i] = pre
        edges += [(i, p) for p in pre]
    targets = {
        i: int(rng.choice([1, 2, 3], p=[0.3, 0.45, 0.25]))
        for i in range(1, n_skills + 1)
    }
    activities: list[ActivityInfo] = []
    order: list[int] = []
    probes: list[Probe] = []
    next_id = 1
    for skill in skills:
        for level in range(1, targets[skill.id] + 1):
            group = f"s{skill.id}-l{level}"
            for kind, minutes, items in (
                ("lesson", 8.0, 2),
                ("worked_example", 6.0, 1),
                ("quiz", 5.0, 4),
            ):
                activities.append(
                    ActivityInfo(
                        id=next_id,
                        key=f"{kind}-{skill.id}-{level}",
                        title=f"{kind.replace('_', ' ').title()}: {skill.name} L{level}",
                        kind=kind,
                        duration_min=minutes,
                        target_level=level,
                        explanation_group=group if kind != "quiz" else None,
                        skills=(SkillLink(skill.id, 1.0, level),),
                        n_items=items,
                    )
                )
                order.append(next_id)
                if kind == "quiz":
                    probes += [
                        Probe(skill.id, level, f"{next_id}:{q}") for q in range(items)
                    ]
                next_id += 1
        activities.append(
            ActivityInfo(
                id=next_id,
                key=f"refresher-{skill.id}",
                title=f"Refresher: {skill.name}",
                kind="refresher",
                duration_min=3.0,
                target_level=targets[skill.id],
                skills=(SkillLink(skill.id, 1.0, targets[skill.id]),),
                n_items=3,
            )
        )
        next_id += 1
    catalog = Catalog.build(skills, activities, edges, module_order=order)
    minutes = sum(catalog.activities[a].duration_min for a in order)
    return Course(catalog, targets, prerequisites, probes, minutes)


@dataclass
class Clock:
    """Active minutes and calendar: 30 minutes of study a day, forgetting overnight."""

    learner: SimLearner
    rng: np.random.Generator
    minutes: float = 0.0
    day: int = 0
    today: float = 0.0

    def spend(self, minutes: float) -> None:
        self.minutes += minutes
        self.today += minutes
        if self.today >= SESSION_MIN:
            self.next_day()

    def next_day(self) -> None:
        self.day += 1
        self.today = 0.0
        self.learner.forget_one_day(self.rng)

    @property
    def now(self) -> dt.datetime:
        return START + dt.timedelta(days=self.day, minutes=self.today)


def do_activity(
    learner: SimLearner,
    course: Course,
    activity: ActivityInfo,
    rng: np.random.Generator,
    day: int,
) -> dict[int, tuple[int, float]]:
    """Run one activity on the hidden learner; returns skill -> (level, share correct)."""
    results: dict[int, tuple[int, float]] = {}
    for link in activity.skills:
        ready = all(
            learner.level.get(p, 0) >= min(link.level, course.targets.get(p, 1))
            for p in course.prerequisites.get(link.skill_id, ())
        )
        p_learn = learn_probability(
            learner,
            kind=activity.kind,
            skill_id=link.skill_id,
            level=link.level,
            activity_id=activity.id,
            prerequisites_ready=ready,
        )
        teach_first = activity.kind in {"lesson", "worked_example"}
        if teach_first and rng.random() < p_learn:
            learner.level[link.skill_id] = link.level
        correct = sum(
            learner.answer(rng, link.skill_id, link.level)
            for _ in range(activity.n_items)
        )
        if not teach_first and rng.random() < p_learn:
            learner.level[link.skill_id] = link.level
        learner.practise(link.skill_id, link.level, day)
        results[link.skill_id] = (
            link.level,
            correct / activity.n_items if activity.n_items else 1.0,
        )
    learner.seen[activity.id] = learner.seen.get(activity.id, 0) + 1
    return results


@dataclass
class Outcome:
    group: str
    to_target: float | None
    finished: float
    mastery_30d: float
    all_30d: bool
    refresher_min: float = 0.0
    placement_q: int = 0
    engine_done: bool = True


def run_linear(
    learner: SimLearner, course: Course, rng: np.random.Generator
) -> Outcome:
    clock = Clock(learner, rng)
    to_target = 0.0 if learner.meets(course.targets) else None
    for activity_id in course.catalog.module_order:
        activity = course.catalog.activities[activity_id]
        do_activity(learner, course, activity, rng, clock.day)
        clock.spend(activity.duration_min)
        if to_target is None and learner.meets(course.targets):
            to_target = clock.minutes
    finished = clock.minutes
    for _ in range(FOLLOW_UP_DAYS):
        clock.next_day()
    return Outcome(
        group=learner.group,
        to_target=to_target,
        finished=finished,
        mastery_30d=learner.share_at_target(course.targets),
        all_30d=learner.meets(course.targets),
    )


@dataclass
class Engine:
    """The learner's Pathwise state: model, refresher cards and recent attempts."""

    model: LearnerModel
    course: Course
    scheduler: RefreshScheduler
    config: PolicyConfig
    cards: dict[int, RefreshState] = field(default_factory=dict)
    history: list[AttemptRecord] = field(default_factory=list)

    def start_cards(self, at: dt.datetime, prior_knowledge: bool) -> None:
        for skill_id, target in self.course.targets.items():
            if skill_id not in self.cards and mastery_reached(
                self.model, skill_id, target, at, self.config
            ):
                self.cards[skill_id] = self.scheduler.start(
                    skill_id, at, prior_knowledge=prior_knowledge
                )

    def decide(self, now: dt.datetime, budget: float | None = None):  # type: ignore[no-untyped-def]
        return next_step(
            PolicyInput(
                catalog=self.course.catalog,
                role_targets=self.course.targets,
                model=self.model,
                now=now,
                refresh=self.cards,
                history=self.history[-20:],
                time_budget_min=budget,
                config=self.config,
                scheduler=self.scheduler,
            )
        )

    def record(
        self,
        activity: ActivityInfo,
        results: Mapping[int, tuple[int, float]],
        at: dt.datetime,
        refresher: bool,
    ) -> None:
        scores = []
        for skill_id, (level, share) in results.items():
            self.model.observe(
                Observation(
                    skill_id=skill_id,
                    level=level,
                    outcome=share,
                    at=at,
                    weight=float(max(activity.n_items, 1)),
                    difficulty=activity.difficulty,
                )
            )
            scores.append(share)
            card = self.cards.get(skill_id)
            if card is not None:
                self.cards[skill_id] = self.scheduler.review(card, share, at)
        self.history.append(
            AttemptRecord(
                activity_id=activity.id,
                at=at,
                score=float(np.mean(scores)) if scores else None,
                skill_ids=tuple(results),
                refresher=refresher,
            )
        )
        self.start_cards(at, prior_knowledge=False)


def run_adaptive(
    learner: SimLearner,
    course: Course,
    rng: np.random.Generator,
    *,
    cap_minutes: float,
    use_ability: bool,
    refresh_min: float,
    placement_budget: int,
) -> Outcome:
    clock = Clock(learner, rng)
    config = PolicyConfig()
    engine = Engine(
        model=LearnerModel(n_levels=len(course.catalog.scale), use_ability=use_ability),
        course=course,
        scheduler=RefreshScheduler(),
        config=config,
    )
    to_target = 0.0 if learner.meets(course.targets) else None
    asked: list[str] = []
    pconf = PlacementConfig(budget=placement_budget)
    while True:
        step = next_placement_step(
            engine.model,
            course.probes,
            course.targets,
            clock.now,
            asked=asked,
            config=pconf,
        )
        if step.choice is None:
            break
        probe = step.choice.probe
        correct = learner.answer(rng, probe.skill_id, probe.level)
        engine.model.observe(placement_observation(probe, correct, clock.now))
        asked.append(probe.ref)
        clock.spend(PLACEMENT_QUESTION_MIN)
    engine.start_cards(clock.now, prior_knowledge=True)

    engine_done = False
    while clock.minutes < cap_minutes:
        rec = engine.decide(clock.now)
        if rec.activity_id is None:
            engine_done = rec.kind == "done"
            break
        activity = course.catalog.activities[rec.activity_id]
        results = do_activity(learner, course, activity, rng, clock.day)
        clock.spend(activity.duration_min)
        engine.record(activity, results, clock.now, rec.kind == "refresher")
        if to_target is None and learner.meets(course.targets):
            to_target = clock.minutes
    finished = clock.minutes

    refresher_minutes = 0.0
    for _ in range(FOLLOW_UP_DAYS):
        clock.next_day()
        spent = 0.0
        while spent < refresh_min:
            rec = engine.decide(clock.now, budget=refresh_min - spent)
            if rec.activity_id is None:
                break
            activity = course.catalog.activities[rec.activity_id]
            results = do_activity(learner, course, activity, rng, clock.day)
            spent += activity.duration_min
            clock.today += activity.duration_min
            engine.record(activity, results, clock.now, rec.kind == "refresher")
        refresher_minutes += spent
    return Outcome(
        group=learner.group,
        to_target=to_target,
        finished=finished,
        mastery_30d=learner.share_at_target(course.targets),
        all_30d=learner.meets(course.targets),
        refresher_min=refresher_minutes,
        placement_q=len(asked),
        engine_done=engine_done,
    )


def _pct(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile that keeps "never reached" (inf) as inf."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(int(np.ceil(q / 100.0 * len(ordered))) - 1, 0)
    return ordered[rank]


def paired_speedup(lin: Sequence[Outcome], ada: Sequence[Outcome]) -> tuple[float, int]:
    """Median of linear/adaptive time over twins that reached the targets in both arms."""
    ratios = [
        lo.to_target / ao.to_target
        for lo, ao in zip(lin, ada, strict=True)
        if lo.to_target is not None and ao.to_target is not None and ao.to_target > 0
    ]
    return (float(np.median(ratios)) if ratios else float("nan")), len(ratios)


def summarise(name: str, outs: Sequence[Outcome]) -> dict[str, float]:
    """Median/p90 over everyone (not reached = infinite), share reached, mastery at 30d."""
    times = [o.to_target if o.to_target is not None else float("inf") for o in outs]
    reached = [t for t in times if t != float("inf")]
    return {
        "median": _pct(times, 50),
        "p90": _pct(times, 90),
        "median_reached": statistics.median(reached) if reached else float("nan"),
        "share": len(reached) / len(outs) if outs else float("nan"),
        "mastery_30d": float(np.mean([o.mastery_30d for o in outs])),
        "all_30d": float(np.mean([o.all_30d for o in outs])),
        "finished": float(np.median([o.finished for o in outs])),
        "refresher_min": float(np.mean([o.refresher_min for o in outs])),
        "placement_q": float(np.mean([o.placement_q for o in outs])),
        "engine_done": float(np.mean([o.engine_done for o in outs])),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="small population, seconds"
    )
    parser.add_argument("--learners", type=int, default=100, help="per group")
    parser.add_argument(
        "--courses", type=int, default=3, help="distinct random modules"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--no-ability", action="store_true", help="ablation: no ability prior"
    )
    parser.add_argument("--refresh-min", type=float, default=10.0)
    parser.add_argument("--placement-budget", type=int, default=8)
    args = parser.parse_args(argv)
    n = 6 if args.quick else args.learners
    n_courses = 1 if args.quick else args.courses
    started = time.perf_counter()
    linear: dict[str, list[Outcome]] = {g: [] for g in GROUPS}
    adaptive: dict[str, list[Outcome]] = {g: [] for g in GROUPS}
    for c in range(n_courses):
        course = build_course(args.seed + 1000 * c)
        topo = course.catalog.graph.order
        for g_index, group in enumerate(GROUPS):
            for i in range(n):
                seed = args.seed * 1_000_003 + c * 10_007 + g_index * 1009 + i
                rng_l = np.random.default_rng(seed)
                twin_a = make_learner(
                    rng_l,
                    group,
                    targets=course.targets,
                    prerequisites=course.prerequisites,
                    topo_order=topo,
                )
                twin_b = make_learner(
                    np.random.default_rng(seed),
                    group,
                    targets=course.targets,
                    prerequisites=course.prerequisites,
                    topo_order=topo,
                )
                linear[group].append(
                    run_linear(twin_a, course, np.random.default_rng(seed + 1))
                )
                adaptive[group].append(
                    run_adaptive(
                        twin_b,
                        course,
                        np.random.default_rng(seed + 1),
                        cap_minutes=2.0 * course.module_minutes,
                        use_ability=not args.no_ability,
                        refresh_min=args.refresh_min,
                        placement_budget=args.placement_budget,
                    )
                )
    print(f"learners_per_group: {n * n_courses} learners")
    print(f"module_minutes_linear_course: {course.module_minutes:.0f} min")
    all_lin = [o for g in GROUPS for o in linear[g]]
    all_ada = [o for g in GROUPS for o in adaptive[g]]
    for label, lin_outs, ada_outs in [
        *[(g, linear[g], adaptive[g]) for g in GROUPS],
        ("overall", all_lin, all_ada),
    ]:
        lin = summarise(label, lin_outs)
        ada = summarise(label, ada_outs)
        for arm, s in (("linear", lin), ("adaptive", ada)):
            print(f"{label}_{arm}_median_minutes_to_targets: {s['median']:.0f} min")
            print(f"{label}_{arm}_p90_minutes_to_targets: {s['p90']:.0f} min")
            print(
                f"{label}_{arm}_median_minutes_to_targets_among_reached: {s['median_reached']:.0f} min"
            )
            print(f"{label}_{arm}_share_reaching_targets: {100 * s['share']:.1f} %")
            print(
                f"{label}_{arm}_true_mastery_30d: {100 * s['mastery_30d']:.1f} % of target skills"
            )
            print(
                f"{label}_{arm}_all_targets_held_30d: {100 * s['all_30d']:.1f} % of learners"
            )
            print(
                f"{label}_{arm}_median_minutes_until_finished: {s['finished']:.0f} min"
            )
        print(
            f"{label}_adaptive_placement_questions: {ada['placement_q']:.1f} questions"
        )
        print(f"{label}_adaptive_refresher_minutes_30d: {ada['refresher_min']:.1f} min")
        print(
            f"{label}_adaptive_engine_declared_done: {100 * ada['engine_done']:.1f} %"
        )
        speed = lin["median"] / ada["median"] if ada["median"] > 0 else float("inf")
        print(f"{label}_speedup_median: {speed:.2f} x")
        paired, n_pairs = paired_speedup(lin_outs, ada_outs)
        print(
            f"{label}_speedup_paired_twins_reaching_both: {paired:.2f} x (n={n_pairs})"
        )
    print(f"simulation_seconds: {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
