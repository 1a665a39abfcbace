"""Unit: the skill graph (prerequisites DAG, cycles named)."""

from __future__ import annotations

import pytest

from adaptive.core.graph import CycleError, SkillGraph


def test_topological_order_puts_prerequisites_first() -> None:
    graph = SkillGraph.build([3, 2, 1], [(3, 2), (2, 1)])
    assert graph.order.index(1) < graph.order.index(2) < graph.order.index(3)
    assert graph.prerequisites_of(3) == (2,)
    assert graph.dependents[1] == (2,)


def test_cycle_is_an_error_that_names_the_cycle() -> None:
    names = {1: "Alerts", 2: "Dashboards", 3: "Runbooks", 4: "Other"}
    with pytest.raises(CycleError) as err:
        SkillGraph.build([1, 2, 3, 4], [(1, 2), (2, 3), (3, 1), (4, 1)], names)
    assert set(err.value.cycle) == {1, 2, 3}
    assert err.value.cycle[0] == err.value.cycle[-1]
    message = str(err.value)
    assert "Alerts" in message and "Dashboards" in message and "Runbooks" in message
    assert "Other" not in message


def test_self_loop_and_unknown_skill_are_rejected() -> None:
    with pytest.raises(CycleError, match="5 -> 5"):
        SkillGraph.build([5], [(5, 5)])
    with pytest.raises(ValueError, match="unknown skill"):
        SkillGraph.build([1], [(1, 9)])


def test_deep_chain_does_not_hit_the_recursion_limit() -> None:
    n = 5000
    graph = SkillGraph.build(range(n), [(i, i - 1) for i in range(1, n)])
    assert graph.order == tuple(range(n))
