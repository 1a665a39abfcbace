"""Pure: the skill graph, a DAG of prerequisites (a cycle is an error that names it)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


class CycleError(ValueError):
    """The prerequisites loop back on themselves; ``cycle`` lists the skills in order."""

    def __init__(
        self, cycle: list[int], names: Mapping[int, str] | None = None
    ) -> None:
        self.cycle = cycle
        labels = [names.get(s, str(s)) if names else str(s) for s in cycle]
        super().__init__("prerequisite cycle: " + " -> ".join(labels))


@dataclass(frozen=True, slots=True)
class SkillGraph:
    """Skills and their prerequisites; ``prerequisites[s]`` must come before ``s``.

    Build with :meth:`build`, which validates the graph and computes a topological order
    once, so the policy can ask "are the prerequisites met?" in O(degree).
    """

    prerequisites: Mapping[int, tuple[int, ...]]
    dependents: Mapping[int, tuple[int, ...]]
    order: tuple[int, ...]
    names: Mapping[int, str] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        skills: Iterable[int],
        edges: Iterable[tuple[int, int]],
        names: Mapping[int, str] | None = None,
    ) -> SkillGraph:
        """Validate and index a graph.

        Args:
            skills: every skill id.
            edges: ``(skill, prerequisite)`` pairs; both ends must be known skills.
            names: optional labels used in error messages.

        Raises:
            CycleError: naming the skills of one cycle, in order.
            ValueError: for an edge to an unknown skill or a self-loop.
        """
        nodes = list(dict.fromkeys(skills))
        known = set(nodes)
        pre: dict[int, list[int]] = {s: [] for s in nodes}
        dep: dict[int, list[int]] = {s: [] for s in nodes}
        for skill, prereq in edges:
            if skill not in known or prereq not in known:
                raise ValueError(
                    f"prerequisite edge {skill} -> {prereq} names an unknown skill"
                )
            if skill == prereq:
                raise CycleError([skill, skill], names)
            if prereq not in pre[skill]:
                pre[skill].append(prereq)
                dep[prereq].append(skill)
        order = _topological_order(nodes, pre, names)
        return cls(
            prerequisites={s: tuple(v) for s, v in pre.items()},
            dependents={s: tuple(v) for s, v in dep.items()},
            order=order,
            names=dict(names or {}),
        )

    def __contains__(self, skill: object) -> bool:
        return skill in self.prerequisites

    def prerequisites_of(self, skill: int) -> tuple[int, ...]:
        return self.prerequisites.get(skill, ())


def _topological_order(
    nodes: list[int], pre: Mapping[int, list[int]], names: Mapping[int, str] | None
) -> tuple[int, ...]:
    """Depth-first order (prerequisites first); on a back edge, report that cycle."""
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(nodes, white)
    order: list[int] = []
    for root in nodes:
        if colour[root] != white:
            continue
        # Iterative DFS so deep graphs (1,000+ skills in a chain) do not hit recursion limits.
        path: list[int] = [root]
        iters = [iter(pre[root])]
        colour[root] = grey
        while path:
            nxt = next(iters[-1], None)
            if nxt is None:
                done = path.pop()
                iters.pop()
                colour[done] = black
                order.append(done)
            elif colour[nxt] == grey:
                start = path.index(nxt)
                # path runs dependent -> prerequisite; report it "needs" order.
                raise CycleError([*path[start:], nxt], names)
            elif colour[nxt] == white:
                colour[nxt] = grey
                path.append(nxt)
                iters.append(iter(pre[nxt]))
    return tuple(order)
