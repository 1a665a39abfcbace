"""Bench: two learner populations, four tutors, in one run (issue 9's figures).

Populations:

* ``bkt``: learners that follow the engine's own model (``_simulated_learners``:
  discrete levels, slip/guess answers, one level per activity, forgetting a level at
  a time) on 12-skill modules built here (``build_course``);
* ``misspecified``: the judge (``_misspecified_learners``, ``_catalogue_gen``):
  continuous proficiency, 3PL answers, style affinity, prerequisite drag, time-based
  forgetting, on three generated 40-skill catalogues.

Tutors, each on the same learners: ``linear`` (the authored course once),
``pathwise_before`` (main's decision path before issue 9, ``_before_tutor``),
``pathwise`` (the engine API, ``adaptive.core.engine``, through ``_engine_tutor``:
the production decision path) and ``oracle`` (reads the true state; an upper bound).
Both populations go through the judge's driver (``_reference_tutors.run``: daily
sessions, idle days, a 30-day follow-up) and its ``summarise``.

Printed, per population and group (``novices``, ``intermediates``, ``experts``,
``all``), for Pathwise: ``<population>.<group>.reach_share``, ``.false_done_share``,
``.speedup_vs_linear`` (ratio of median minutes to the targets, non-reachers never),
``.oracle_speedup``, ``.retention_30d``, ``.refresher_minutes``,
``.median_minutes_to_done`` (a false "done" counts as never); and every tutor's
figures as ``<population>.<group>.<tutor>.<figure>``.

Pathwise starts with the engine's placement check (``Engine.start_placement``), as the
service does; ``--no-placement`` runs the mastery loop alone, for comparison. The
misspecified catalogues have placement items (one question, one minute each); the
``bkt`` modules have none, so placement asks nothing there.

Run: ``python bench/simulate.py [--learners N] [--seeds 3] [--courses 3]
[--no-placement]`` or ``--quick`` (one catalogue of each population, a few learners).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adaptive.core.catalogue import (  # noqa: E402
    ActivityInfo,
    Catalog,
    SkillInfo,
    SkillLink,
)
from bench import misspecified  # noqa: E402
from bench._before_tutor import before_tutor  # noqa: E402
from bench._bkt_population import (  # noqa: E402
    BktCourse,
    bkt_oracle_factory,
    course_document,
    make_bkt_population,
)
from bench._engine_tutor import (  # noqa: E402
    engine_tutor,
    engine_tutor_without_placement,
)
from bench._item_refit import REFIT  # noqa: E402
from bench._misspecified_learners import GROUPS  # noqa: E402
from bench._reference_tutors import (  # noqa: E402
    Outcome,
    TutorFactory,
    linear_tutor,
    run,
    summarise,
)

TIME_CAP_MINUTES = misspecified.TIME_CAP_MINUTES
TUTOR_NAMES = ("linear", "pathwise_before", "pathwise", "oracle")
HEADLINE = "pathwise"
FIGURES = {
    "reach_share": "ratio",
    "false_done_share": "ratio",
    "speedup_vs_linear": "x",
    "median_minutes": "min",
    "median_minutes_to_done": "min",
    "retention_30d": "ratio",
    "refresher_minutes": "min",
}
Results = dict[str, dict[str, list[Outcome]]]


@dataclass
class Course:
    catalog: Catalog
    targets: dict[int, int]
    prerequisites: dict[int, tuple[int, ...]]
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
    return Course(catalog, targets, prerequisites, minutes)


def bkt_course(seed: int) -> BktCourse:
    course = build_course(seed)
    return course_document(
        course.catalog, course.targets, course.prerequisites, seed=seed
    )


def simulate_bkt(
    courses: int,
    learners: int,
    seed: int,
    time_cap: float,
    pathwise: TutorFactory = engine_tutor,
) -> Results:
    """Outcomes by tutor and group on the ``bkt`` population, pooled over courses."""
    results: Results = {t: {g: [] for g in GROUPS} for t in TUTOR_NAMES}
    for c in range(courses):
        course = bkt_course(seed + 1000 * c)
        tutors: dict[str, TutorFactory] = {
            "linear": linear_tutor,
            "pathwise_before": before_tutor,
            "pathwise": pathwise,
            "oracle": bkt_oracle_factory(course),
        }
        for g_index, group in enumerate(GROUPS):
            people = make_bkt_population(
                course, group, learners, seed * 1_000_003 + c * 10_007 + g_index
            )
            for name, factory in tutors.items():
                results[name][group].extend(
                    run(factory, course.doc, people, time_cap_minutes=time_cap)  # type: ignore[arg-type]
                )
    return results


def figures(population: str, results: Results) -> list[tuple[str, float, str]]:
    """(name, value, unit): Pathwise's headline figures, then every tutor's."""
    rows: list[tuple[str, float, str]] = []
    for group in (*GROUPS, "all"):
        pooled = {
            t: [o for g in GROUPS for o in by_group[g]]
            if group == "all"
            else by_group[group]
            for t, by_group in results.items()
        }
        linear = pooled["linear"]
        summaries = {t: summarise(rows_, linear) for t, rows_ in pooled.items()}
        head = summaries[HEADLINE]
        prefix = f"{population}.{group}"
        for key, unit in FIGURES.items():
            if key != "median_minutes":
                rows.append((f"{prefix}.{key}", head[key], unit))
        rows.append(
            (f"{prefix}.oracle_speedup", summaries["oracle"]["speedup_vs_linear"], "x")
        )
        for tutor, summary in summaries.items():
            for key, unit in FIGURES.items():
                rows.append((f"{prefix}.{tutor}.{key}", summary[key], unit))
            stops = [o.stop for o in pooled[tutor]]
            for stop in ("done", "blocked", "cap"):
                share = stops.count(stop) / len(stops) if stops else math.nan
                rows.append((f"{prefix}.{tutor}.stop_{stop}_share", share, "ratio"))
    return rows


def _format(value: float, unit: str) -> str:
    if math.isnan(value) or math.isinf(value):
        return str(value)
    digits = {"ratio": 2, "x": 2, "min": 0, "s": 1}.get(unit, 2)
    return f"{value:.{digits}f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="one catalogue each, few learners"
    )
    parser.add_argument(
        "--learners", type=int, default=30, help="per group and catalogue"
    )
    parser.add_argument("--seeds", type=int, default=3, help="misspecified catalogues")
    parser.add_argument("--courses", type=int, default=3, help="bkt modules")
    parser.add_argument("--seed", type=int, default=7, help="bkt seed")
    parser.add_argument(
        "--population", choices=("both", "bkt", "misspecified"), default="both"
    )
    parser.add_argument("--time-cap", type=float, default=TIME_CAP_MINUTES)
    parser.add_argument(
        "--no-placement",
        action="store_true",
        help="Pathwise without its placement check (the mastery loop alone)",
    )
    parser.add_argument(
        "--refit-items",
        type=int,
        default=0,
        metavar="N",
        help="refit question parameters from the Pathwise learners' answers every N "
        "learners per catalogue (the production retrain; 0: never)",
    )
    args = parser.parse_args(argv)
    REFIT["every"] = args.refit_items
    pathwise: TutorFactory = (
        engine_tutor_without_placement if args.no_placement else engine_tutor
    )
    # The judge's own table names its tutors; only the Pathwise entry is swapped.
    misspecified.TUTORS["pathwise"] = pathwise
    learners = 4 if args.quick else args.learners
    seeds = 1 if args.quick else args.seeds
    courses = 1 if args.quick else args.courses
    started = time.perf_counter()
    runs: list[tuple[str, Results]] = []
    if args.population in ("both", "bkt"):
        runs.append(
            (
                "bkt",
                simulate_bkt(courses, learners, args.seed, args.time_cap, pathwise),
            )
        )
    if args.population in ("both", "misspecified"):
        runs.append(
            (
                "misspecified",
                misspecified.simulate(range(1, seeds + 1), learners, args.time_cap),
            )
        )
    print(f"learners_per_group_and_catalogue: {learners} learners")
    print(f"bkt.catalogues: {courses} catalogues")
    print(f"misspecified.catalogues: {seeds} catalogues")
    print(f"pathwise.placement: {0 if args.no_placement else 1} flag")
    print(f"pathwise.refit_items_every: {args.refit_items} learners")
    for population, results in runs:
        for name, value, unit in figures(population, results):
            print(f"{name}: {_format(value, unit)} {unit}")
    print(f"simulation_seconds: {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
