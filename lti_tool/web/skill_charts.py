"""Web layer: the geometry and text alternative of a skill's level chart (server-side SVG).

One horizontal scale of the framework's levels: the model's estimate as a dot, its
uncertainty as a band around it, the role's target as a line. The template draws
it (``_skill_chart.html``); this only computes where things go and what they say.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lti_tool.learner_journey.levels import short_level

WIDTH = 320.0
PAD = 24.0
AXIS_Y = 30.0


@dataclass(frozen=True)
class Tick:
    x: float
    label: str
    name: str


@dataclass(frozen=True)
class SkillChart:
    """Where the chart's marks go (SVG user units) and the sentence that replaces it."""

    ticks: tuple[Tick, ...]
    estimate_x: float
    band_x: float
    band_width: float
    target_x: float
    text: str


def _x(level: float, n_levels: int) -> float:
    span = WIDTH - 2 * PAD
    top = max(n_levels - 1, 1)
    return round(PAD + span * min(max(level, 0.0), float(top)) / top, 2)


def skill_chart(skill: Mapping[str, Any], *, levels: Sequence[str]) -> SkillChart:
    """The chart of one skill row of ``learner_path`` against its target."""
    n = max(len(levels), 2)
    expected = float(skill["expected_level"])
    spread = float(skill["uncertainty"])
    low = _x(expected - spread, n)
    high = _x(expected + spread, n)
    likely = round(float(skill["p_target"]) * 100)
    text = (
        f"{skill['name']}: now about {short_level(skill['level_name'])} "
        f"(give or take {spread:.1f} level{'s' if round(spread, 1) != 1 else ''}); "
        f"your role needs {short_level(skill['target_name'])}; "
        f"{likely}% likely you are there."
    )
    return SkillChart(
        ticks=tuple(
            Tick(x=_x(i, n), label=short_level(name), name=name)
            for i, name in enumerate(levels)
        ),
        estimate_x=_x(expected, n),
        band_x=low,
        band_width=round(max(high - low, 2.0), 2),
        target_x=_x(float(skill["target"]), n),
        text=text,
    )
