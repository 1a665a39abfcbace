"""Bench: simulated learners through the linear course and through Pathwise's adaptive path.

Both arms use the same catalogue, role targets and hidden learners (twins built from
the same seed). Novices, intermediates and experts differ in prior knowledge, learning
rate, slips, guesses and forgetting (``_simulated_learners``); the engine only ever
sees their answers.

* Linear arm: every activity of the module in authored order. A learner who finishes
  the course without reaching the targets retakes it, as an LMS course is retaken,
  up to ``--max-passes`` passes.
* Adaptive arm: placement + the sequencing policy + the real learner model and FSRS
  refreshers, until the engine says "done" or the same time cap as the linear arm
  (``--max-passes`` x the module's minutes).
* Minutes to targets: active minutes until the hidden true skills meet every target
  at once (the same rule for both arms, checked after every activity). A learner who
  never gets there within the cap is censored: counted as +inf, so a group's median
  is finite only when more than half reached the targets, and the p90 only when 90%
  did. Because a median can be censored, we also print the restricted mean (minutes
  with "never" counted as the cap, a standard survival-analysis summary that is always
  finite), its ratio, and the paired ratio over twins who reached in both arms.
* Speed-up: linear median / adaptive median (inf when only the linear median is
  censored); ``*_speedup_restricted_mean`` is the always-defined counterpart.
* True mastery 30 days later: 30 simulated days after each arm finished (adaptive
  learners do the refreshers that fall due, at most ``--refresh-min`` minutes a day;
  the linear course has none), the share of target skills at target.
* Parameters: the model's defaults (``--params default``), or, with ``--params
  fitted``, what the nightly retrain does: a pilot cohort (other seeds) goes through
  the adaptive arm first and ``adaptive.core.fit.fit_model`` refits per-skill parameters
  on its evidence.

Run: ``python bench/simulate.py`` (a few minutes) or ``--quick`` (seconds).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _simulated_learners import GROUPS, SimLearner, learn_probability, make_learner

from adaptive.core.catalogue import ActivityInfo, Catalog, SkillInfo, SkillLink
from adaptive.core.fit import ResponseLog, fit_model
from adaptive.core.learner import LearnerModel, Observation, ParamSet
from adaptive.core.placement import (
    PlacementConfig,
    Probe,
    next_placement_step,
    placement_observation,
)
from adaptive.core.policy import (
    AttemptRecord,
    PolicyConfig,
    PolicyInput,
    Recommendation,
    mastery_reached,
    next_step,
)
from adaptive.core.refresh import RefreshScheduler, RefreshState

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
    passes: int = 1
    horizon: float = float("inf")


def run_linear(
    learner: SimLearner, course: Course, rng: np.random.Generator, *, max_passes: int
) -> Outcome:
    """Every activity of the module in authored order; a learner who finishes a pass
    without reaching the targets retakes the whole course (up to ``max_passes``)."""
    clock = Clock(learner, rng)
    to_target = 0.0 if learner.meets(course.targets) else None
    passes = 0
    while to_target is None and passes < max_passes:
        passes += 1
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
        passes=passes,
        horizon=max_passes * course.module_minutes,
    )


@dataclass(frozen=True)
class AdaptiveSettings:
    """How Pathwise is deployed for the adaptive arm (the engine's knobs, not the
    learners'): parameters, placement, policy and the daily refresher time."""

    cap_minutes: float
    params: ParamSet = field(default_factory=ParamSet)
    placement: PlacementConfig = field(default_factory=PlacementConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    use_ability: bool = True
    refresh_min: float = 10.0


@dataclass
class Engine:
    """The learner's Pathwise state: model, refresher cards and recent attempts."""

    model: LearnerModel
    course: Course
    scheduler: RefreshScheduler
    config: PolicyConfig
    cards: dict[int, RefreshState] = field(default_factory=dict)
    history: list[AttemptRecord] = field(default_factory=list)
    # Evidence as the service stores it (for the nightly refit): skill, outcome,
    # weight, time.
    evidence: list[tuple[int, float, float, dt.datetime]] = field(default_factory=list)

    def observe(self, obs: Observation) -> None:
        self.model.observe(obs)
        self.evidence.append((obs.skill_id, obs.outcome, obs.weight, obs.at))

    def start_cards(self, at: dt.datetime, prior_knowledge: bool) -> None:
        for skill_id, target in self.course.targets.items():
            if skill_id not in self.cards and mastery_reached(
                self.model, skill_id, target, at, self.config
            ):
                self.cards[skill_id] = self.scheduler.start(
                    skill_id, at, prior_knowledge=prior_knowledge
                )

    def decide(self, now: dt.datetime, budget: float | None = None) -> Recommendation:
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
            self.observe(
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
    settings: AdaptiveSettings,
) -> tuple[Outcome, Engine]:
    """Placement, then the policy's steps until it says done (or the time cap), then
    30 days with at most ``refresh_min`` minutes of due refreshers a day."""
    clock = Clock(learner, rng)
    engine = Engine(
        model=LearnerModel(
            n_levels=len(course.catalog.scale),
            params=settings.params,
            use_ability=settings.use_ability,
        ),
        course=course,
        scheduler=RefreshScheduler(),
        config=settings.policy,
    )
    to_target = 0.0 if learner.meets(course.targets) else None
    asked: list[str] = []
    while True:
        step = next_placement_step(
            engine.model,
            course.probes,
            course.targets,
            clock.now,
            asked=asked,
            config=settings.placement,
        )
        if step.choice is None:
            break
        probe = step.choice.probe
        correct = learner.answer(rng, probe.skill_id, probe.level)
        engine.observe(placement_observation(probe, correct, clock.now))
        asked.append(probe.ref)
        clock.spend(PLACEMENT_QUESTION_MIN)
    engine.start_cards(clock.now, prior_knowledge=True)

    engine_done = False
    while clock.minutes < settings.cap_minutes:
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
        while spent < settings.refresh_min:
            rec = engine.decide(clock.now, budget=settings.refresh_min - spent)
            if rec.activity_id is None:
                break
            activity = course.catalog.activities[rec.activity_id]
            results = do_activity(learner, course, activity, rng, clock.day)
            spent += activity.duration_min
            clock.today += activity.duration_min
            engine.record(activity, results, clock.now, rec.kind == "refresher")
        refresher_minutes += spent
    outcome = Outcome(
        group=learner.group,
        to_target=to_target,
        finished=finished,
        mastery_30d=learner.share_at_target(course.targets),
        all_30d=learner.meets(course.targets),
        refresher_min=refresher_minutes,
        placement_q=len(asked),
        engine_done=engine_done,
        horizon=settings.cap_minutes,
    )
    return outcome, engine


def fit_params(engines: Sequence[Engine]) -> tuple[ParamSet, int]:
    """What the nightly retrain does (``adaptive.training``): per-skill BKT with
    forgetting and ability, fitted by EM on every learner's stored evidence."""
    learner, skill, outcome, weight, when = [], [], [], [], []
    for index, engine in enumerate(engines):
        for skill_id, out, w, at in engine.evidence:
            learner.append(index)
            skill.append(skill_id)
            outcome.append(out)
            weight.append(w)
            when.append(at)
    skill_ids, skill_index = np.unique(
        np.asarray(skill, dtype=np.int64), return_inverse=True
    )
    epoch = min(when)
    log = ResponseLog.from_arrays(
        learner,
        skill_index,
        outcome,
        [(t - epoch).total_seconds() / 86400.0 for t in when],
        weight=weight,
        n_skills=len(skill_ids),
    )
    fitted = fit_model(log)
    per_skill = {
        int(s): fitted.bkt.params.params(i).clipped() for i, s in enumerate(skill_ids)
    }
    return ParamSet(per_skill=per_skill), len(log)


def _pct(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile; "never reached" is +inf, so a median is finite only
    when more than half reached the targets (censoring made explicit)."""
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


def summarise(outs: Sequence[Outcome]) -> dict[str, float]:
    """Median/p90 over everyone (not reached = +inf), share reached, mastery at 30d."""
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
        "passes": float(np.mean([o.passes for o in outs])),
        # Restricted mean (survival analysis): unreached counts as the common time cap.
        "rmst": float(
            np.mean([min(t, o.horizon) for t, o in zip(times, outs, strict=True)])
        ),
    }


LABELS = {"novice": "novices", "intermediate": "intermediates", "expert": "experts"}


def twins(seed: int, group: str, course: Course) -> tuple[SimLearner, SimLearner, int]:
    """Two copies of the same hidden learner (one per arm) and the arm's rng seed."""
    topo = course.catalog.graph.order
    pair = [
        make_learner(
            np.random.default_rng(seed),
            group,
            targets=course.targets,
            prerequisites=course.prerequisites,
            topo_order=topo,
        )
        for _ in range(2)
    ]
    return pair[0], pair[1], seed + 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="small population, seconds"
    )
    parser.add_argument("--learners", type=int, default=60, help="per group, course")
    parser.add_argument(
        "--courses", type=int, default=3, help="distinct random modules"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--no-ability", action="store_true", help="ablation: no ability prior"
    )
    parser.add_argument(
        "--params",
        choices=("fitted", "default"),
        default="default",
        help="fitted: refit on a pilot cohort's evidence first (the nightly retrain)",
    )
    parser.add_argument("--pilot", type=int, default=20, help="pilot learners/group")
    parser.add_argument("--refresh-min", type=float, default=10.0)
    parser.add_argument("--max-passes", type=int, default=3)
    parser.add_argument(
        "--placement-budget", type=int, default=8, help="the module's setting"
    )
    parser.add_argument(
        "--policy",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a PolicyConfig threshold (ablations)",
    )
    args = parser.parse_args(argv)
    overrides: dict[str, Any] = {}
    for option in args.policy:
        key, _, value = option.partition("=")
        overrides[key] = type(getattr(PolicyConfig(), key))(value)
    policy = replace(PolicyConfig(), **overrides)
    n = 6 if args.quick else args.learners
    n_courses = 1 if args.quick else args.courses
    n_pilot = 4 if args.quick else args.pilot
    started = time.perf_counter()
    linear: dict[str, list[Outcome]] = {g: [] for g in GROUPS}
    adaptive: dict[str, list[Outcome]] = {g: [] for g in GROUPS}
    fitted_responses = 0
    module_minutes = []
    for c in range(n_courses):
        course = build_course(args.seed + 1000 * c)
        module_minutes.append(course.module_minutes)
        settings = AdaptiveSettings(
            cap_minutes=args.max_passes * course.module_minutes,
            placement=PlacementConfig(budget=args.placement_budget),
            policy=policy,
            use_ability=not args.no_ability,
            refresh_min=args.refresh_min,
        )
        if args.params == "fitted":
            # A pilot cohort (other seeds) on default parameters; then the refit.
            pilot = []
            for g_index, group in enumerate(GROUPS):
                for i in range(n_pilot):
                    seed = 977 + args.seed * 7919 + c * 104_729 + g_index * 1013 + i
                    _, learner, arm_seed = twins(seed, group, course)
                    pilot.append(
                        run_adaptive(
                            learner, course, np.random.default_rng(arm_seed), settings
                        )[1]
                    )
            params, n_responses = fit_params(pilot)
            fitted_responses += n_responses
            settings = replace(settings, params=params)
        for g_index, group in enumerate(GROUPS):
            for i in range(n):
                seed = args.seed * 1_000_003 + c * 10_007 + g_index * 1009 + i
                twin_a, twin_b, arm_seed = twins(seed, group, course)
                linear[group].append(
                    run_linear(
                        twin_a,
                        course,
                        np.random.default_rng(arm_seed),
                        max_passes=args.max_passes,
                    )
                )
                adaptive[group].append(
                    run_adaptive(
                        twin_b, course, np.random.default_rng(arm_seed), settings
                    )[0]
                )
    print(f"learners_per_group: {n * n_courses} learners")
    print(f"courses: {n_courses} modules")
    print(f"module_minutes_linear_course_mean: {np.mean(module_minutes):.0f} min")
    print(f"time_cap_both_arms: {args.max_passes} passes of the module")
    print(f"parameters: {args.params} ({fitted_responses} pilot responses refitted)")
    all_lin = [o for g in GROUPS for o in linear[g]]
    all_ada = [o for g in GROUPS for o in adaptive[g]]
    for label, lin_outs, ada_outs in [
        *[(LABELS[g], linear[g], adaptive[g]) for g in GROUPS],
        ("overall", all_lin, all_ada),
    ]:
        lin = summarise(lin_outs)
        ada = summarise(ada_outs)
        for arm, st in (("linear", lin), ("adaptive", ada)):
            print(f"{label}_minutes_median_{arm}: {st['median']:.0f} min")
            print(f"{label}_minutes_p90_{arm}: {st['p90']:.0f} min")
            print(
                f"{label}_minutes_median_among_reached_{arm}: {st['median_reached']:.0f} min"
            )
            print(f"{label}_share_reaching_targets_{arm}: {st['share']:.2f} share")
            print(
                f"{label}_true_mastery_30d_{arm}: {st['mastery_30d']:.3f} share of target skills"
            )
            print(
                f"{label}_all_targets_held_30d_{arm}: {st['all_30d']:.2f} share of learners"
            )
            print(
                f"{label}_minutes_until_finished_median_{arm}: {st['finished']:.0f} min"
            )
        print(f"{label}_linear_passes_mean: {lin['passes']:.2f} passes")
        print(
            f"{label}_adaptive_placement_questions: {ada['placement_q']:.1f} questions"
        )
        print(f"{label}_adaptive_refresher_minutes_30d: {ada['refresher_min']:.1f} min")
        print(f"{label}_adaptive_engine_declared_done: {ada['engine_done']:.2f} share")
        for arm, st in (("linear", lin), ("adaptive", ada)):
            print(f"{label}_minutes_restricted_mean_{arm}: {st['rmst']:.0f} min")
        speed = lin["median"] / ada["median"] if ada["median"] > 0 else float("inf")
        name = "overall_median_speedup" if label == "overall" else f"{label}_speedup"
        # inf: the linear median is censored (under half reached within the cap).
        print(f"{name}: {speed:.2f} x")
        print(f"{label}_speedup_restricted_mean: {lin['rmst'] / ada['rmst']:.2f} x")
        paired, n_pairs = paired_speedup(lin_outs, ada_outs)
        print(f"{label}_speedup_paired_twins: {paired:.2f} x (n={n_pairs})")
    print(f"simulation_seconds: {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
