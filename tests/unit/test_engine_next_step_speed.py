"""Unit: the fast next-step path (memoised work list, lazy skill views) decides as main's.

The reference is main's eager path (``bench/_before_engine_perf.unoptimised``, the one
the bench times as its baseline): seeded learners work through generated catalogues,
and at every step both paths must return the same recommendation, reason included.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from adaptive.core.catalogue import ActivityInfo, Catalog, SkillInfo, SkillLink
from adaptive.core.decisions import AttemptRecord, Overrides, Recommendation
from adaptive.core.engine import Engine
from adaptive.core.mastery_foundations import NeededFoundations
from adaptive.core.mastery_steps import Plan
from adaptive.core.mastery_work import (
    WORK_LISTS_KEPT,
    SkillWork,
    build_work_list,
    check_count,
    skill_views,
    work_list,
)
from bench import _before_engine_perf as before
from bench.engine import build_catalog

T0 = dt.datetime(2025, 1, 6, 9, tzinfo=dt.UTC)


def run_learner(
    catalog: Catalog, seed: int, n_targets: int, steps: int
) -> list[Recommendation]:
    """A seeded learner with a hidden level per skill; asserts both paths agree."""
    rng = np.random.default_rng(seed)
    engine = Engine(catalog)
    skills = sorted(catalog.skills)
    targets = {
        int(s): int(rng.integers(1, 4))
        for s in rng.choice(skills, n_targets, replace=False)
    }
    hidden = {s: int(rng.integers(0, 3)) for s in skills}
    learner = engine.start(targets)
    now = T0
    decisions: list[Recommendation] = []
    for _ in range(steps):
        rec = engine.next_step(learner, now)
        with before.unoptimised():
            reference = engine.next_step(learner, now)
        assert rec == reference
        decisions.append(rec)
        if rec.activity_id is None:
            break
        activity = catalog.activities[rec.activity_id]
        main = activity.skills[0]
        if activity.n_items:
            p = 0.85 if hidden[main.skill_id] >= main.level else 0.3
            answers = [bool(rng.random() < p) for _ in range(activity.n_items)]
            engine.record_attempt(learner, activity.id, at=now, responses=answers)
        else:
            engine.record_attempt(learner, activity.id, at=now)
            if rng.random() < 0.5:
                hidden[main.skill_id] = max(hidden[main.skill_id], main.level)
        # Gaps of hours to weeks, so cards fall due and re-checks come round.
        now += dt.timedelta(hours=float(rng.choice([0.2, 1.0, 30.0, 24.0 * 12])))
    return decisions


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fast_path_takes_main_decisions_on_a_seeded_learner(seed: int) -> None:
    catalog = build_catalog(np.random.default_rng(seed), 40, 400)
    decisions = run_learner(catalog, seed, n_targets=6, steps=250)
    codes = {d.reason.code for d in decisions}
    # The sequence reaches the loop's later branches, not only its first step.
    assert len(decisions) > 40
    assert "check_mastery" in codes and len(codes) >= 5, codes


def test_fast_path_matches_main_on_the_bench_catalogue() -> None:
    catalog = build_catalog(np.random.default_rng(42), 1000, 10000)
    decisions = run_learner(catalog, 42, n_targets=200, steps=60)
    assert len(decisions) == 60


def test_lazy_views_equal_main_views() -> None:
    catalog = build_catalog(np.random.default_rng(7), 50, 500)
    rng = np.random.default_rng(7)
    history = [
        AttemptRecord(
            int(a),
            T0 + dt.timedelta(minutes=i),
            float(rng.random()) if rng.random() < 0.8 else None,
        )
        for i, a in enumerate(rng.integers(0, 500, 800))
    ]
    history.append(AttemptRecord(99_999, T0, 1.0))  # not in the catalogue: ignored
    skills = {int(s) for s in rng.choice(50, 30, replace=False)}
    lazy = skill_views(catalog, history, skills)
    eager = before.skill_views(catalog, history, skills)
    assert set(lazy) == set(eager) and len(lazy) == len(eager)
    for skill in skills:
        assert (skill in lazy) == (skill in eager)
        assert check_count(lazy, skill) == check_count(eager, skill)
        if skill in eager:
            assert lazy[skill] == eager[skill]
            assert lazy.get(skill) is lazy[skill]  # built once
    assert lazy.get(-1) is None


def test_work_list_memo_is_keyed_by_every_input() -> None:
    catalog = build_catalog(np.random.default_rng(5), 80, 400)
    targets = {70: 2, 75: 3, 79: 1}
    plain = Overrides()
    skip = Overrides(skipped_skills=frozenset(catalog.graph.prerequisites_of(70)))
    order = Overrides(skill_order=(79, 75))
    reordered = dict(reversed(targets.items()))
    for t, ovr in ((targets, plain), (targets, skip), (targets, order)):
        expected = build_work_list(catalog, t, ovr)
        assert work_list(catalog, t, ovr) == expected
        assert work_list(catalog, t, ovr) == expected  # from the memo
    assert work_list(catalog, reordered, plain) == build_work_list(
        catalog, reordered, plain
    )
    # A caller may change its copy without changing the memo.
    first = work_list(catalog, targets, plain)
    first.clear()
    assert work_list(catalog, targets, plain) == build_work_list(
        catalog, targets, plain
    )


def test_work_list_memo_is_bounded() -> None:
    catalog = build_catalog(np.random.default_rng(6), 100, 300)
    for skill in range(WORK_LISTS_KEPT * 2):
        work_list(catalog, {skill % 100: 1 + skill // 100}, Overrides())
    assert len(catalog.memo["work_list"]) <= WORK_LISTS_KEPT  # type: ignore[arg-type]


def test_foundations_are_asked_lazily_and_answer_as_the_eager_scan() -> None:
    # Skill 1 is a foundation of skills 2 and 3 (the role); skill 4 of skill 5.
    # Asking about skill 1 plans skills above it only until one needs teaching.
    skills = [SkillInfo(i, f"s{i}", f"Skill {i}") for i in range(1, 6)]
    acts = [
        ActivityInfo(i, f"a{i}", f"A{i}", kind="lesson", skills=(SkillLink(i, 1.0, 1),))
        for i in range(1, 6)
    ]
    cat = Catalog.build(skills, acts, [(2, 1), (3, 1), (5, 4)])
    work = [
        SkillWork(1, 1, "prerequisite"),
        SkillWork(2, 1, "role"),
        SkillWork(3, 1, "role"),
        SkillWork(4, 1, "prerequisite"),
        SkillWork(5, 1, "role"),
    ]
    teaching = {2: Plan("activity", 2, "teach"), 3: Plan("activity", 3, "teach")}
    planned: list[int] = []

    def plan_of(w: SkillWork) -> Plan:
        planned.append(w.skill_id)
        return teaching.get(w.skill_id, Plan("met"))

    needed = NeededFoundations(cat, work, plan_of)
    assert 1 in needed
    assert planned == [2]  # skill 3 and skill 5 were not planned
    assert 4 not in needed  # skill 5 is met: its foundation waits
    assert planned == [2, 5]
    assert 4 not in needed and planned == [2, 5]  # remembered
