"""Pure: catalogue snapshots (skills, activities, roles, modules) the engine decides over."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from adaptive.graph import SkillGraph

DEFAULT_SCALE: tuple[str, ...] = (
    "Not yet",
    "Aware",
    "Uses it with guidance",
    "Uses it independently",
    "Adapts it to new situations",
    "Builds it for others",
)

# Kinds that make a good refresher: short retrieval practice rather than a new lesson.
REFRESHER_KINDS = frozenset({"refresher", "quiz", "practice", "worked_example"})


@dataclass(frozen=True, slots=True)
class SkillInfo:
    id: int
    key: str
    name: str
    framework_id: int = 0


@dataclass(frozen=True, slots=True)
class SkillLink:
    """An activity teaches/assesses ``skill_id`` at ``level``; ``weight`` is its share."""

    skill_id: int
    weight: float = 1.0
    level: int = 1


@dataclass(frozen=True, slots=True)
class ActivityInfo:
    """One activity as the policy sees it.

    ``n_items`` is how many scored questions it ends with (0 for a pure reading), which
    is how much evidence finishing it will give.
    """

    id: int
    key: str
    title: str
    kind: str = "lesson"
    duration_min: float = 5.0
    difficulty: float = 0.0
    target_level: int = 1
    explanation_group: str | None = None
    skills: tuple[SkillLink, ...] = ()
    n_items: int = 1


@dataclass(frozen=True, slots=True)
class RoleInfo:
    """A role's need: a target level per skill, reached within ``horizon_days``."""

    id: int
    name: str
    targets: Mapping[int, int]
    horizon_days: int = 60


@dataclass(frozen=True)
class Catalog:
    """Skills, their graph and activities, indexed for the policy (build once, reuse)."""

    skills: Mapping[int, SkillInfo]
    activities: Mapping[int, ActivityInfo]
    graph: SkillGraph
    scale: tuple[str, ...] = DEFAULT_SCALE
    module_order: tuple[int, ...] = ()
    by_skill: Mapping[int, tuple[int, ...]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        skills: Iterable[SkillInfo],
        activities: Iterable[ActivityInfo],
        edges: Iterable[tuple[int, int]] = (),
        *,
        scale: Iterable[str] = DEFAULT_SCALE,
        module_order: Iterable[int] = (),
    ) -> Catalog:
        """Index a catalogue; raises CycleError when the prerequisites loop."""
        skill_map = {s.id: s for s in skills}
        graph = SkillGraph.build(
            skill_map, edges, {s.id: s.name for s in skill_map.values()}
        )
        activity_map = {a.id: a for a in activities}
        by_skill: dict[int, list[int]] = {}
        for activity in activity_map.values():
            for link in activity.skills:
                by_skill.setdefault(link.skill_id, []).append(activity.id)
        return cls(
            skills=skill_map,
            activities=activity_map,
            graph=graph,
            scale=tuple(scale),
            module_order=tuple(module_order),
            by_skill={s: tuple(ids) for s, ids in by_skill.items()},
        )

    @property
    def n_levels(self) -> int:
        return len(self.scale)

    def skill_name(self, skill_id: int) -> str:
        info = self.skills.get(skill_id)
        return info.name if info else f"skill {skill_id}"

    def level_name(self, level: int) -> str:
        if 0 <= level < len(self.scale):
            return self.scale[level]
        return f"level {level}"
