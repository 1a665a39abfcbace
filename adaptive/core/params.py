"""Pure: Bayesian Knowledge Tracing parameters shared by the online model and the fitter."""

from __future__ import annotations

from dataclasses import dataclass

# Safe bounds: guess and slip above 0.5 make "knowing" indistinguishable from not
# (the degenerate solutions EM is known to fall into).
GUESS_MAX = 0.3
SLIP_MAX = 0.3
PROB_MIN = 1e-4


@dataclass(frozen=True, slots=True)
class BKTParams:
    """Per-skill (optionally per-level) BKT parameters.

    prior: P(known) before any evidence; learn: P(unknown -> known) per opportunity;
    guess: P(correct | unknown); slip: P(wrong | known); forget_per_day: daily
    probability mass that decays from known toward unknown between opportunities.
    """

    # Conservative defaults: real learners just above a question's level answer it
    # right only ~70-80% of the time and just below ~30-40%, so a right answer is
    # weaker evidence than textbook BKT values (guess 0.2, slip 0.1) would make it.
    prior: float = 0.2
    learn: float = 0.15
    guess: float = 0.25
    slip: float = 0.15
    forget_per_day: float = 0.01

    def clipped(self) -> BKTParams:
        def clip(value: float, high: float = 1 - PROB_MIN) -> float:
            return min(max(value, PROB_MIN), high)

        return BKTParams(
            prior=clip(self.prior),
            learn=clip(self.learn),
            guess=clip(self.guess, GUESS_MAX),
            slip=clip(self.slip, SLIP_MAX),
            forget_per_day=clip(self.forget_per_day, 0.5),
        )


DEFAULT_PARAMS = BKTParams()
