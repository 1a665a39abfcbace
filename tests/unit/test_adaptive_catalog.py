"""Unit: the catalogue snapshot and its numpy pair table."""

from __future__ import annotations

import numpy as np
import pytest

from adaptive.core.catalogue import ActivityInfo, Catalog, SkillInfo, SkillLink


def build() -> Catalog:
    skills = [SkillInfo(i, f"s{i}", f"Skill {i}") for i in (10, 20, 30)]
    acts = [
        ActivityInfo(
            1,
            "a1",
            "One",
            kind="lesson",
            duration_min=8.0,
            explanation_group="g",
            skills=(SkillLink(10, 1.0, 1), SkillLink(20, 0.5, 2)),
            n_items=2,
        ),
        ActivityInfo(
            2,
            "a2",
            "Two",
            kind="quiz",
            duration_min=5.0,
            difficulty=0.5,
            # A repeated link keeps the first (the table has one row per pair).
            skills=(SkillLink(30, 1.0, 2), SkillLink(30, 1.0, 1)),
            n_items=4,
        ),
    ]
    return Catalog.build(skills, acts, [(20, 10), (30, 20)])


def test_pair_table_rows_follow_activities_and_links() -> None:
    cat = build()
    pt = cat.pairs
    assert cat.pairs is pt  # built once per catalogue
    assert [int(pt.skill_ids[i]) for i in pt.pair_skill] == [10, 20, 30]
    assert [int(pt.activity_ids[j]) for j in pt.pair_act] == [1, 1, 2]
    assert pt.pair_level.tolist() == [1, 2, 2]
    assert pt.pair_weight.tolist() == [1.0, 0.5, 1.0]
    assert pt.pair_row[(2, 30)] == 2
    assert pt.act_duration.tolist() == [8.0, 5.0]
    assert pt.act_n_items.tolist() == [2, 4]
    assert [pt.kinds[k] for k in pt.act_kind] == ["lesson", "quiz"]
    assert pt.act_group.tolist() == [pt.groups["g"], -1]
    edges = {
        (int(pt.skill_ids[s]), int(pt.skill_ids[p]))
        for s, p in zip(pt.edge_skill, pt.edge_pre, strict=True)
    }
    assert edges == {(20, 10), (30, 20)}


def test_pair_table_is_read_only() -> None:
    pt = build().pairs
    with pytest.raises(ValueError):
        pt.pair_level[0] = 3
    assert isinstance(pt.act_difficulty, np.ndarray)
    assert not pt.act_difficulty.flags.writeable
