"""Bench: decision and update latency of the adaptive engine's pure core.

A catalogue of 1,000 skills (a prerequisite DAG) and 10,000 activities; a learner with
5,000 evidence events spread over 90 days; refresher cards on the skills they mastered.
Measures, each against a same-run baseline with the ratio (p99 over baseline p99):

* ``next_step_*``: the engine API the services call (``Engine.next_step``, role of
  200 target skills, over a 1,000-attempt history; ``next_step_all1000_*`` is a stress
  case where the role targets all 1,000); baselines ``before_next_step_*``, the
  same engine on main's eager path before the speed work
  (``bench/_before_engine_perf``: every skill's history view and the work list
  rebuilt on every decision; timed call for call with the shipped path, with the
  share of identical decisions and the garbage collector's runs), and
  ``baseline_next_step_*``, the card-based ``adaptive.core.policy`` (main's path
  before issue 9); ``next_step_near_done_*`` the costliest decision, for a learner
  who has met nearly the whole 200-skill role (``bench_near_done``), against the same
  eager path (with ``--near-done``: walking the learner there takes about 1,300
  engine steps, half a minute on a quiet machine);
* ``placement_step_*``: one ``Engine.placement_step`` (3,000 probes, three per skill,
  the same role, a learner with 5,000 events answering as it goes), and
  ``placement_answer_*`` one ``Engine.answer_placement``; baseline
  ``baseline_placement_step_*``, main's per-probe loop (``bench/_before_placement``),
  on the same states, with the share of steps where both chose the same question;
* one online evidence update (``LearnerModel.observe``).

Latencies are wall-clock per call (``perf_counter``; ``*_cpu_*`` is the thread's CPU
time, which a shared, loaded machine does not inflate) after a warm-up (the catalogue's
numpy pair table is built once, as a deployment builds it once per catalogue), over
``--decisions`` decisions per case (2,000 by default) and ``--updates`` further
evidence events on top of the learner's 5,000 (5,000 by default); we report p50, p95
and p99 and the 1-minute load average, since the machine is shared.

Nothing here tunes the garbage collector, as the app, worker and CLI do not: the
bench runs what production runs. ``--app-heap`` first imports the web app's modules
(Flask, SQLAlchemy, pylti1p3...), so a full collection walks a web worker's heap.

Run: ``python bench/engine.py`` or ``--quick``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import importlib
import os
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adaptive.core.catalogue import ActivityInfo, Catalog, SkillInfo, SkillLink
from adaptive.core.decisions import AttemptRecord, Recommendation
from adaptive.core.engine import Engine
from adaptive.core.engine_learner import Learner
from adaptive.core.learner import LearnerModel
from adaptive.core.learner_types import Observation
from adaptive.core.placement import PlacementConfig, Probe
from adaptive.core.policy import next_step
from adaptive.core.policy_explain import PolicyInput
from adaptive.core.refresh import RefreshScheduler, RefreshState
from adaptive.core.skill_progress import PolicyConfig, mastery_reached
from bench._before_engine_perf import unoptimised
from bench._before_placement import choose_probe_loop

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
KINDS = ("lesson", "worked_example", "quiz", "practice", "refresher")


def build_catalog(
    rng: np.random.Generator, n_skills: int, n_activities: int
) -> Catalog:
    skills = [SkillInfo(i, f"s{i}", f"Skill {i}") for i in range(n_skills)]
    edges = []
    for i in range(1, n_skills):
        k = int(rng.integers(0, 3))
        for p in {int(x) for x in rng.integers(max(0, i - 50), i, size=k)}:
            edges.append((i, p))
    acts = []
    for a in range(n_activities):
        skill = a % n_skills
        level = int(rng.integers(1, 4))
        kind = KINDS[int(rng.integers(len(KINDS)))]
        links = [SkillLink(skill, 1.0, level)]
        if rng.random() < 0.3:
            other = int(rng.integers(n_skills))
            if other != skill:
                links.append(SkillLink(other, 0.5, level))
        acts.append(
            ActivityInfo(
                id=a,
                key=f"a{a}",
                title=f"Activity {a}",
                kind=kind,
                duration_min=float(rng.choice([3.0, 5.0, 6.0, 8.0, 10.0])),
                difficulty=float(rng.normal(0, 0.5)),
                target_level=level,
                explanation_group=f"g{skill}-{level}",
                skills=tuple(links),
                n_items=int(rng.integers(0, 6)),
            )
        )
    return Catalog.build(skills, acts, edges, module_order=range(n_activities))


def report(name: str, samples: Sequence[float], digits: int = 2) -> float:
    """Print p50/p95/p99 (ms); returns the p99."""
    for q in (50, 95, 99):
        print(f"{name}_p{q}: {np.percentile(samples, q):.{digits}f} ms")
    return float(np.percentile(samples, 99))


def placement_probes(rng: np.random.Generator, n_skills: int) -> list[Probe]:
    """Three placement questions per skill, at levels 1-3."""
    return [
        Probe(skill, level, f"p{skill}:{level}", float(rng.normal(0.0, 0.3)))
        for skill in range(n_skills)
        for level in (1, 2, 3)
    ]


def bench_placement(
    rng: np.random.Generator,
    catalog: Catalog,
    model: LearnerModel,
    targets: dict[int, int],
    now: dt.datetime,
    n_steps: int,
) -> None:
    """Placement steps on a copy of ``model``, answered as they come, vs the loop."""
    # Never stop early: every call is timed on a live, growing placement.
    config = PlacementConfig(budget=n_steps + 1, min_gain_bits=0.0, clear_cut_run=0)
    probes = placement_probes(rng, len(catalog.skills))
    engine = Engine(catalog, probes=probes, placement=config)
    learner = engine.start(targets, model=LearnerModel.from_dict(model.to_dict()))
    placement = engine.start_placement(learner)
    step_ms, cpu_ms, answer_ms, loop_ms, loop_cpu = [], [], [], [], []
    agree = compared = 0
    warm_up = 5
    for i in range(n_steps + warm_up):
        at = now + dt.timedelta(seconds=30 * i)
        t, c = time.perf_counter(), time.thread_time()
        step = engine.placement_step(learner, placement, at)
        if i >= warm_up:
            step_ms.append((time.perf_counter() - t) * 1000)
            cpu_ms.append((time.thread_time() - c) * 1000)
        if step.choice is None:
            break
        if i % 10 == 0:
            t, c = time.perf_counter(), time.thread_time()
            before, _ = choose_probe_loop(
                learner.model, probes, learner.targets, at, placement.asked
            )
            loop_ms.append((time.perf_counter() - t) * 1000)
            loop_cpu.append((time.thread_time() - c) * 1000)
            compared += 1
            agree += before is not None and before.ref == step.choice.probe.ref
        t = time.perf_counter()
        engine.answer_placement(
            learner,
            placement,
            step.choice.probe.ref,
            correct=bool(rng.random() < 0.6),
            at=at,
        )
        answer_ms.append((time.perf_counter() - t) * 1000)
    print(f"placement_probes: {len(probes)} probes")
    print(f"placement_steps: {len(step_ms)} steps")
    p99 = report("placement_step", step_ms)
    p99_cpu = report("placement_step_cpu", cpu_ms)
    report("placement_answer", answer_ms)
    base = report("baseline_placement_step", loop_ms)
    base_cpu = report("baseline_placement_step_cpu", loop_cpu)
    print(f"placement_step_p99_ratio: {p99 / base:.3f} ratio")
    print(f"placement_step_cpu_p99_ratio: {p99_cpu / base_cpu:.3f} ratio")
    print(f"placement_choice_agreement: {agree / max(compared, 1):.2f} ratio")


@dataclass
class Timings:
    """One path's per-decision wall and CPU times, its decisions and GC runs."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    decisions: list[Recommendation] = field(default_factory=list)
    gc: list[int] = field(default_factory=lambda: [0, 0, 0])


def time_next_steps(
    engine: Engine, learner: Learner, now: dt.datetime, n: int
) -> tuple[Timings, Timings]:
    """``Engine.next_step`` as shipped and on main's eager path, call for call.

    The two alternate, so a change of load on the shared machine hits both alike;
    the garbage collector's runs during each path's calls are counted (a full
    collection walks the whole heap, the catalogue's objects included).
    """
    fast, before = Timings(), Timings()
    warm_up = 20
    for i in range(n + warm_up):
        at = now + dt.timedelta(minutes=i)
        for run, path in ((fast, contextlib.nullcontext), (before, unoptimised)):
            with path():
                collections = [g["collections"] for g in gc.get_stats()]
                t, c = time.perf_counter(), time.thread_time()
                rec = engine.next_step(learner, at)
                elapsed = (time.perf_counter() - t) * 1000
                cpu = (time.thread_time() - c) * 1000
                after = [g["collections"] for g in gc.get_stats()]
            if i >= warm_up:
                run.wall.append(elapsed)
                run.cpu.append(cpu)
                run.decisions.append(rec)
                run.gc = [
                    r + b - a
                    for r, a, b in zip(run.gc, collections, after, strict=True)
                ]
    return fast, before


def bench_near_done(
    engine: Engine, targets: dict[int, int], now: dt.datetime, n: int
) -> None:
    """``next_step_near_done_*``: a learner who has met (nearly) the whole role.

    The loop plans every work skill up to the first unmet one, so the costliest
    decision is the one for a learner near "targets met": every met skill's check
    rounds and card are read. A learner who answers every question right is walked
    through the role (about 1,300 steps on the engine) and then timed.
    """
    learner = engine.start(targets)
    at = now
    started = time.perf_counter()
    for _ in range(5000):
        rec = engine.next_step(learner, at)
        if rec.activity_id is None:
            break
        activity = engine.catalog.activities[rec.activity_id]
        answers = [True] * activity.n_items
        engine.record_attempt(learner, activity.id, at=at, responses=answers or None)
        at += dt.timedelta(minutes=5)
    name = "next_step_near_done"
    print(f"{name}_setup: {len(learner.history)} steps to {rec.reason.code}, ", end="")
    print(f"{time.perf_counter() - started:.1f} s")
    print(f"{name}_load_average_1min: {os.getloadavg()[0]:.2f} load")
    fast, before = time_next_steps(engine, learner, at, n)
    print(f"{name}_decisions: {len(fast.wall)} decisions")
    p99 = report(name, fast.wall)
    p99_cpu = report(f"{name}_cpu", fast.cpu)
    before_p99 = report(f"before_{name}", before.wall)
    before_cpu = report(f"before_{name}_cpu", before.cpu)
    print(f"{name}_p99_ratio_vs_before: {p99 / before_p99:.3f} ratio")
    print(f"{name}_cpu_p99_ratio_vs_before: {p99_cpu / before_cpu:.3f} ratio")
    same = sum(a == b for a, b in zip(fast.decisions, before.decisions, strict=True))
    print(f"{name}_same_decisions_as_before: {same / len(fast.decisions):.2f} ratio")
    for path, run in (("", fast), ("before_", before)):
        print(f"{path}{name}_gc_collections: {run.gc[0]} young, {run.gc[2]} full")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--decisions", type=int, default=2000, help="per case")
    parser.add_argument("--updates", type=int, default=5000)
    parser.add_argument(
        "--near-done",
        action="store_true",
        help="also time a learner near the end of the role (30 s to set up)",
    )
    parser.add_argument(
        "--app-heap", action="store_true", help="import the web app's modules first"
    )
    args = parser.parse_args(argv)
    if args.app_heap:
        importlib.import_module("lti_tool.app")
    print(f"gc_tracked_objects_at_start: {len(gc.get_objects())} objects")
    rng = np.random.default_rng(42)
    n_skills, n_acts, n_events = 1000, 10000, 5000
    n_decisions = 40 if args.quick else args.decisions
    n_updates = 500 if args.quick else args.updates
    print(f"load_average_1min_at_start: {os.getloadavg()[0]:.2f} load")

    started = time.perf_counter()
    catalog = build_catalog(rng, n_skills, n_acts)
    print(f"catalog_build_seconds: {time.perf_counter() - started:.2f} s")
    started = time.perf_counter()
    pairs = catalog.pairs  # what the first decision would build (once per catalogue)
    print(f"pair_table_build_seconds: {time.perf_counter() - started:.3f} s")
    print(f"pair_table_rows: {len(pairs.pair_act)} activity-skill pairs")
    print(f"catalog_skills: {len(catalog.skills)} skills")
    print(f"catalog_activities: {len(catalog.activities)} activities")

    model = LearnerModel()
    focus = rng.choice(n_skills, size=300, replace=False)

    def evidence(at: dt.datetime) -> Observation:
        return Observation(
            skill_id=int(focus[int(rng.integers(len(focus)))]),
            level=int(rng.integers(1, 4)),
            outcome=float(rng.random() < 0.75),
            at=at,
            weight=float(rng.choice([1.0, 2.0, 4.0])),
            difficulty=float(rng.normal(0, 0.5)),
        )

    for e in range(n_events):
        model.observe(evidence(T0 + dt.timedelta(days=90.0 * e / n_events)))
    print(f"evidence_events: {n_events} events")
    # Steady state: further evidence on a learner who already has 5,000 events (the
    # replayed history above is the warm-up), spread over the next day.
    update_ms = []
    for x in sorted(float(x) for x in rng.uniform(0.0, 1.0, n_updates)):
        obs = evidence(T0 + dt.timedelta(days=90.0 + x))
        t = time.perf_counter()
        model.observe(obs)
        update_ms.append((time.perf_counter() - t) * 1000)
    now = T0 + dt.timedelta(days=92)
    print(f"update_measured: {len(update_ms)} events")
    report("update", update_ms, 4)

    sched = RefreshScheduler()
    config = PolicyConfig()
    role = {
        int(s): int(rng.integers(1, 4))
        for s in rng.choice(n_skills, 200, replace=False)
    }
    role.update({int(s): 2 for s in focus[:100]})
    cards: dict[int, RefreshState] = {}
    for skill in focus:
        if mastery_reached(model, int(skill), role.get(int(skill), 1), now, config):
            cards[int(skill)] = sched.start(
                int(skill), now - dt.timedelta(days=10), prior_knowledge=False
            )
    history = [
        AttemptRecord(
            int(a),
            now - dt.timedelta(minutes=5 * i),
            float(rng.random()),
            tuple(lk.skill_id for lk in catalog.activities[int(a)].skills),
        )
        for i, a in enumerate(rng.choice(n_acts, 20, replace=False))
    ]

    last = history[-1]
    after_refresher = [
        *history[:-1],
        AttemptRecord(
            last.activity_id, last.at, last.score, last.skill_ids, refresher=True
        ),
    ]
    baseline_p99: dict[str, float] = {}
    baseline_cpu_p99: dict[str, float] = {}
    for label, targets in (
        ("role200", role),
        ("all1000", dict.fromkeys(range(n_skills), 2)),
    ):
        times = []
        cpu_times: list[float] = []
        codes: dict[str, int] = {}
        warm_up = 20
        for i in range(n_decisions + warm_up):
            inp = PolicyInput(
                catalog=catalog,
                role_targets=targets,
                model=model,
                now=now + dt.timedelta(minutes=i),
                refresh=cards,
                # Every other decision follows a refresher, so new learning gets its
                # turn and both paths of the policy are timed.
                history=history if i % 2 else after_refresher,
                config=config,
                scheduler=sched,
                time_budget_min=None if i % 4 < 2 else 10.0,
            )
            t, c = time.perf_counter(), time.thread_time()
            rec = next_step(inp)
            elapsed = (time.perf_counter() - t) * 1000
            if i >= warm_up:
                times.append(elapsed)
                cpu_times.append((time.thread_time() - c) * 1000)
                codes[rec.reason.code] = codes.get(rec.reason.code, 0) + 1
        print(f"baseline_next_step_{label}_decisions: {len(times)} decisions")
        baseline_p99[label] = report(f"baseline_next_step_{label}", times)
        baseline_cpu_p99[label] = report(f"baseline_next_step_{label}_cpu", cpu_times)
        print(
            f"baseline_next_step_{label}_reason_codes: {len(codes)} codes "
            f"({', '.join(sorted(codes))})"
        )
    print(f"mastered_skills_with_cards: {len(cards)} skills")
    # The production path since issue 9: the engine API over the learner's whole
    # history (the service reads up to 5,000 attempts; here 1,000 over 30 days).
    engine = Engine(catalog)
    long_history = [
        AttemptRecord(
            int(a),
            now - dt.timedelta(minutes=43.2 * (1000 - i)),
            float(rng.random() < 0.7) if catalog.activities[int(a)].n_items else None,
            tuple(lk.skill_id for lk in catalog.activities[int(a)].skills),
        )
        for i, a in enumerate(rng.choice(n_acts, 1000, replace=False))
    ]
    for label, targets in (
        ("role200", role),
        ("all1000", dict.fromkeys(range(n_skills), 2)),
    ):
        name = "next_step" if label == "role200" else f"next_step_{label}"
        print(f"{name}_load_average_1min: {os.getloadavg()[0]:.2f} load")
        learner = engine.start(targets, model=model, history=long_history)
        fast, before = time_next_steps(engine, learner, now, n_decisions)
        print(f"{name}_decisions: {len(fast.wall)} decisions")
        p99 = report(name, fast.wall)
        p99_cpu = report(f"{name}_cpu", fast.cpu)
        before_p99 = report(f"before_{name}", before.wall)
        before_cpu = report(f"before_{name}_cpu", before.cpu)
        print(f"{name}_p99_ratio_vs_before: {p99 / before_p99:.3f} ratio")
        print(f"{name}_cpu_p99_ratio_vs_before: {p99_cpu / before_cpu:.3f} ratio")
        print(f"{name}_p99_ratio: {p99 / baseline_p99[label]:.3f} ratio")
        print(f"{name}_cpu_p99_ratio: {p99_cpu / baseline_cpu_p99[label]:.3f} ratio")
        same = sum(
            a == b for a, b in zip(fast.decisions, before.decisions, strict=True)
        )
        print(
            f"{name}_same_decisions_as_before: {same / len(fast.decisions):.2f} ratio"
        )
        for path, run in (("", fast), ("before_", before)):
            print(f"{path}{name}_gc_collections: {run.gc[0]} young, {run.gc[2]} full")
        codes = Counter(rec.reason.code for rec in fast.decisions)
        print(f"{name}_reason_codes: {len(codes)} codes ({', '.join(sorted(codes))})")
    if args.near_done:
        bench_near_done(engine, role, now, max(n_decisions // 10, 20))
    bench_placement(rng, catalog, model, role, now, n_decisions)
    print(f"load_average_1min_at_end: {os.getloadavg()[0]:.2f} load")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
