"""Pure adaptive core: per-question parameters fitted from answers, put into a catalogue.

``adaptive.core.fit_items`` fits each question's difficulty (once it has
``MIN_ITEM_RESPONSES`` answers) and its own guess and slip (once it has
``MIN_GUESS_SLIP_RESPONSES``). This puts them where the engine's observation model
reads them, ``ActivityInfo.items``: a fitted difficulty replaces the author's, a
fitted guess and slip replace the skill's for that question only, and a question
with no fit keeps the author's values. The database snapshot
(``adaptive.module_snapshots``) and the bench call the same functions, so both run
one decision path.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from adaptive.core.catalogue import ActivityInfo, Catalog, ItemInfo
from adaptive.core.fit_data import FloatArray
from adaptive.core.fit_items import MIN_GUESS_SLIP_RESPONSES, ItemFit

BoolArray = NDArray[np.bool_]


@dataclasses.dataclass(frozen=True, slots=True)
class FittedItem:
    """One question's fitted values; ``guess``/``slip`` ``None`` when not its own."""

    difficulty: float
    guess: float | None = None
    slip: float | None = None


def fitted_item(
    difficulty: float, guess: float, slip: float, n_responses: int
) -> FittedItem:
    """A stored fit as the engine uses it: the guess and slip only with enough answers
    for them (below, the fit holds its priors, not this question's values)."""
    own = n_responses >= MIN_GUESS_SLIP_RESPONSES
    return FittedItem(
        float(difficulty), float(guess) if own else None, float(slip) if own else None
    )


def fitted_from_fit(
    fit: ItemFit, keys: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], FittedItem]:
    """(activity id, question index) -> values, for the questions with enough answers.

    ``keys[k]`` names the question of the fit's item ``k``.
    """
    return {
        key: fitted_item(
            float(fit.difficulty[k]),
            float(fit.guess[k]),
            float(fit.slip[k]),
            int(fit.n_responses[k]),
        )
        for k, key in enumerate(keys)
        if fit.enough[k]
    }


def fitted_question_items(
    base: Sequence[ItemInfo], fitted: Mapping[int, FittedItem]
) -> tuple[ItemInfo, ...]:
    """``base`` (one item per question) with each fitted question's values."""
    out = list(base)
    for index, fit in fitted.items():
        if 0 <= index < len(out):
            out[index] = dataclasses.replace(
                out[index], difficulty=fit.difficulty, guess=fit.guess, slip=fit.slip
            )
    return tuple(out)


def default_items(activity: ActivityInfo, n_questions: int) -> tuple[ItemInfo, ...]:
    """One item per question from the activity's own tags (its main skill and level)."""
    if not activity.skills:
        return ()
    main = activity.skills[0]
    return tuple(
        ItemInfo(main.skill_id, main.level, activity.difficulty)
        for _ in range(n_questions)
    )


def with_fitted_items(
    catalog: Catalog, fitted: Mapping[tuple[int, int], FittedItem]
) -> Catalog:
    """``catalog`` with fitted questions' values in its activities' items.

    An activity whose questions carry no tags of their own gets one item per scored
    question from its main skill (its fitted answers are evidence on that skill).
    Returns ``catalog`` itself when nothing applies.
    """
    by_activity: dict[int, dict[int, FittedItem]] = {}
    for (activity_id, index), fit in fitted.items():
        if activity_id in catalog.activities:
            by_activity.setdefault(activity_id, {})[index] = fit
    if not by_activity:
        return catalog
    activities = dict(catalog.activities)
    for activity_id, own in by_activity.items():
        activity = activities[activity_id]
        base = activity.items or default_items(activity, activity.n_items)
        activities[activity_id] = dataclasses.replace(
            activity, items=fitted_question_items(base, own)
        )
    return dataclasses.replace(catalog, activities=activities)


def group_parameters(
    items: Sequence[ItemInfo],
) -> dict[tuple[int, int], FittedItem]:
    """Per (skill, level) of ``items``: what a stored evidence row of that group is
    observed with (rows keep the group, not its questions): the mean difficulty, and
    the mean guess and slip when every question of the group has its own."""
    groups: dict[tuple[int, int], list[ItemInfo]] = {}
    for item in items:
        groups.setdefault((item.skill_id, max(item.level, 1)), []).append(item)
    out = {}
    for key, members in groups.items():
        own = all(m.guess is not None and m.slip is not None for m in members)
        out[key] = FittedItem(
            sum(m.difficulty for m in members) / len(members),
            sum(m.guess or 0.0 for m in members) / len(members) if own else None,
            sum(m.slip or 0.0 for m in members) / len(members) if own else None,
        )
    return out


def centred_difficulties(
    fitted: FloatArray,
    authored: FloatArray,
    enough: BoolArray,
    groups: Sequence[Hashable],
) -> FloatArray:
    """Fitted difficulties shifted so each group (a question's skill and level) keeps
    its authored mean among the questions with enough answers: the catalogue's units
    stay (0 = typical for the level), only the spread is learnt."""
    out = fitted.copy()
    members: dict[Hashable, list[int]] = {}
    for k, group in enumerate(groups):
        if enough[k]:
            members.setdefault(group, []).append(k)
    for ks in members.values():
        out[ks] += authored[ks].mean() - fitted[ks].mean()
    return out
