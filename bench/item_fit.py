"""Bench: per-question difficulty fitted from answers, against the author's own guess.

Generated learners (normal abilities) answer generated questions whose curves are
*not* the fit's: each has its own discrimination (0.6-1.6) besides its difficulty,
guess and slip. The author's difficulty is the truth plus noise (sd ``--author-sd``,
an assumption: how far off an author's "harder than typical" usually is). For each
number of answers per question the bench prints the mean absolute error of the
fitted difficulty and of the author's (the same-run baseline) and their ratio,
and how long a fit of 100,000 answers takes (20,000 with ``--quick``).

Run: ``python bench/item_fit.py`` (about 20 s) or ``--quick``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adaptive.core.fit_items import (  # noqa: E402
    MIN_GUESS_SLIP_RESPONSES,
    MIN_ITEM_RESPONSES,
    ItemResponses,
    fit_items,
)


def report(name: str, value: float | str, unit: str = "") -> None:
    text = f"{value:.4f}" if isinstance(value, float) else value
    print(f"{name}: {text} {unit}".rstrip(), flush=True)


def generate(
    n_learners: int, n_items: int, author_sd: float, seed: int
) -> tuple[ItemResponses, np.ndarray]:
    """Every learner answers every question; returns the answers and true difficulty."""
    rng = np.random.default_rng(seed)
    ability = rng.normal(0.0, 1.0, n_learners)
    difficulty = rng.uniform(-1.5, 1.5, n_items)
    discrimination = rng.uniform(0.6, 1.6, n_items)
    guess = rng.uniform(0.05, 0.25, n_items)
    slip = rng.uniform(0.03, 0.2, n_items)
    learner, item = (
        a.ravel()
        for a in np.meshgrid(np.arange(n_learners), np.arange(n_items), indexing="ij")
    )
    z = discrimination[item] * (ability[learner] - difficulty[item])
    p = guess[item] + (1 - guess[item] - slip[item]) / (1 + np.exp(-z))
    correct = (rng.random(p.size) < p).astype(float)
    authored = difficulty + rng.normal(0.0, author_sd, n_items)
    return ItemResponses.from_arrays(learner, item, correct, authored), difficulty


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--items", type=int, default=40)
    parser.add_argument("--author-sd", type=float, default=0.8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    sizes = (50, 200) if args.quick else (25, 50, 100, 200, 1000)
    report("item_fit.min_answers", str(MIN_ITEM_RESPONSES))
    report("item_fit.min_answers_guess_slip", str(MIN_GUESS_SLIP_RESPONSES))
    for n in sizes:
        data, truth = generate(n, args.items, args.author_sd, args.seed + n)
        fit = fit_items(data, min_responses=0)
        fitted = float(np.abs(fit.difficulty - truth).mean())
        authored = float(np.abs(data.prior_difficulty - truth).mean())
        report(f"item_fit.n{n}.difficulty_mae_fitted", fitted, "logit")
        report(f"item_fit.n{n}.difficulty_mae_authored", authored, "logit")
        report(f"item_fit.n{n}.error_ratio_authored_to_fitted", authored / fitted, "x")
    n_learners = 500 if args.quick else 2_500
    data, _ = generate(n_learners, args.items, args.author_sd, args.seed)
    started = time.perf_counter()
    fit = fit_items(data)
    seconds = time.perf_counter() - started
    report("item_fit.answers", str(len(data.correct)))
    report("item_fit.fit_seconds", seconds, "s")
    report("item_fit.iterations", str(fit.iterations))


if __name__ == "__main__":
    main()
