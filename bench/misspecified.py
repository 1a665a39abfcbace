"""Bench: reference tutors on learners whose model the engine does not share.

Three generated catalogues (one per seed, each checked by the product's importer), and
for each a population of novices, intermediates and experts simulated with continuous
proficiency, 3PL answers, style-dependent learning and exponential forgetting
(bench/_misspecified_learners.py). Every learner goes through the authored linear
course and through the oracle (true gain per minute, stops exactly at the targets),
studying in daily sessions of 25-70 minutes with idle days in between.

Figures, per group and pooled ("all"): share reaching the role targets (true state),
share told DONE while short of them, median active minutes to the targets
(non-reachers count as infinite), median minutes until the tutor said DONE, mean
refresher minutes, the share of targeted skills still at target 30 days after
finishing, and the oracle's speedup over the linear course (ratio of medians).

Run: ``python bench/misspecified.py [--learners N] [--seeds 3] [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adaptive.core.catalogue_format import CatalogueError  # noqa: E402
from adaptive.core.catalogue_parse import parse_catalogue  # noqa: E402
from bench._before_tutor import before_tutor  # noqa: E402
from bench._catalogue_gen import GeneratedCatalogue, generate  # noqa: E402
from bench._engine_tutor import engine_tutor  # noqa: E402
from bench._misspecified_learners import GROUPS, make_population  # noqa: E402
from bench._reference_tutors import (  # noqa: E402
    Outcome,
    TutorFactory,
    linear_tutor,
    oracle_tutor,
    run,
    summarise,
)

#: Tutors to compare; "linear" must stay, it is every other tutor's baseline.
TUTORS: dict[str, TutorFactory] = {
    "linear": linear_tutor,
    "pathwise_before": before_tutor,
    "pathwise": engine_tutor,
    "oracle": oracle_tutor,
}
TIME_CAP_MINUTES = 6000.0
QUICK_LEARNERS = 12
UNITS = {
    "reach_share": "ratio",
    "false_done_share": "ratio",
    "median_minutes": "min",
    "median_minutes_to_done": "min",
    "retention_30d": "ratio",
    "refresher_minutes": "min",
}


def check_catalogue(generated: GeneratedCatalogue) -> None:
    """Fail loudly if the product's importer would refuse the generated document."""
    parse_catalogue(
        json.dumps(generated.doc, indent=1), source_name=f"generated-{generated.seed}"
    )


def simulate(
    seeds: Sequence[int],
    learners: int,
    time_cap: float,
    tutors: Sequence[str] | None = None,
) -> dict[str, dict[str, list[Outcome]]]:
    """Outcomes by tutor (all of ``TUTORS`` unless named) and group, pooled over the
    seeds' catalogues."""
    chosen = {t: TUTORS[t] for t in (tutors or TUTORS)}
    results: dict[str, dict[str, list[Outcome]]] = {
        t: {g: [] for g in GROUPS} for t in chosen
    }
    for seed in seeds:
        generated = generate(seed)
        check_catalogue(generated)
        for g_index, group in enumerate(GROUPS):
            started = time.perf_counter()
            people = make_population(
                generated.doc, generated.side, group, learners, seed * 101 + g_index
            )
            for name, factory in chosen.items():
                results[name][group].extend(
                    run(factory, generated.doc, people, time_cap_minutes=time_cap)
                )
            print(
                f"seed {seed} {group}: {learners} learners, "
                f"{time.perf_counter() - started:.1f} s",
                file=sys.stderr,
                flush=True,
            )
    return results


def figures(
    results: dict[str, dict[str, list[Outcome]]],
) -> list[tuple[str, float, str]]:
    """(name, value, unit) for every group, pooled group and tutor."""
    rows: list[tuple[str, float, str]] = []
    groups = [*GROUPS, "all"]
    for group in groups:
        pooled = {
            t: [o for g in GROUPS for o in by_group[g]]
            if group == "all"
            else by_group[group]
            for t, by_group in results.items()
        }
        linear = pooled["linear"]
        for tutor, outcomes in pooled.items():
            summary = summarise(outcomes, linear)
            for key, unit in UNITS.items():
                rows.append((f"misspecified.{group}.{tutor}.{key}", summary[key], unit))
            if tutor != "linear":
                rows.append(
                    (
                        f"misspecified.{group}.{tutor}_speedup",
                        summary["speedup_vs_linear"],
                        "x",
                    )
                )
    return rows


def _format(value: float, unit: str) -> str:
    if math.isnan(value) or math.isinf(value):
        return str(value)
    digits = {"ratio": 2, "x": 1, "min": 0, "s": 1}.get(unit, 2)
    return f"{value:.{digits}f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=60, help="per group and seed")
    parser.add_argument("--seeds", type=int, default=3, help="catalogues to generate")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_LEARNERS} learners per group and seed",
    )
    parser.add_argument("--time-cap", type=float, default=TIME_CAP_MINUTES)
    parser.add_argument(
        "--tutors",
        default=",".join(TUTORS),
        help="comma-separated subset of the tutors (linear is always run)",
    )
    args = parser.parse_args(argv)
    tutors = ["linear", *(t for t in args.tutors.split(",") if t and t != "linear")]
    learners = QUICK_LEARNERS if args.quick else args.learners
    started = time.perf_counter()
    try:
        results = simulate(range(1, args.seeds + 1), learners, args.time_cap, tutors)
    except CatalogueError as exc:
        print(exc.render(), file=sys.stderr)
        return 1
    n = sum(len(v) for v in results["linear"].values())
    print(f"misspecified.catalogues: {args.seeds} catalogues")
    print(f"misspecified.learners: {n} learners")
    for name, value, unit in figures(results):
        print(f"{name}: {_format(value, unit)} {unit}")
    oracle_minutes = [
        o.minutes_to_targets
        for by_group in results["oracle"].values()
        for o in by_group
        if o.minutes_to_targets is not None
    ]
    if oracle_minutes:
        print(f"misspecified.all.oracle.max_minutes: {max(oracle_minutes):.0f} min")
        print(
            "misspecified.all.oracle.mean_minutes: "
            f"{statistics.fmean(oracle_minutes):.0f} min"
        )
    print(f"misspecified.runtime_seconds: {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
