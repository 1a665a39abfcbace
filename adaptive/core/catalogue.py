"""Pure: catalogue snapshots (skills, activities, roles, modules) the engine decides over."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt

from adaptive.core.graph import SkillGraph

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

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
# Kinds whose questions check a skill rather than teach it: only their answers can
# verify that a target is met (a lesson's own questions were just taught from).
CHECK_KINDS = frozenset({"quiz", "assessment", "placement_item", "test", "exam"})
#: One-question items that exist for the placement check (``adaptive.core.placement``).
PLACEMENT_KIND = "placement_item"
#: How much an activity kind teaches, relative to a lesson, in the model's update.
KIND_TEACHING = {"quiz": 0.5, "refresher": 0.3, "assessment": 0.3, PLACEMENT_KIND: 0.0}


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
class ItemInfo:
    """One question's own skill, level and difficulty (the author's or fitted).

    ``guess`` and ``slip`` are the question's own fitted values when it has enough
    answers for them (``adaptive.core.fitted_items``); ``None`` keeps the skill's.
    """

    skill_id: int
    level: int = 1
    difficulty: float = 0.0
    guess: float | None = None
    slip: float | None = None


@dataclass(frozen=True, slots=True)
class ActivityInfo:
    """One activity as the policy sees it.

    ``n_items`` is how many scored questions it ends with (0 for a pure reading), which
    is how much evidence finishing it will give. ``items`` is one entry per question
    when its questions carry their own tags; empty means the activity's tags speak
    for every question.
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
    items: tuple[ItemInfo, ...] = ()


@dataclass(frozen=True, slots=True)
class RoleInfo:
    """A role's need: a target level per skill, reached within ``horizon_days``."""

    id: int
    name: str
    targets: Mapping[int, int]
    horizon_days: int = 60


def _frozen(array: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
    array.flags.writeable = False
    return array


@dataclass(frozen=True, eq=False)
class PairTable:
    """The catalogue as read-only numpy arrays, so a decision selects with masks.

    Skills and activities get dense indexes (``skill_ids[i]``, ``activity_ids[j]``).
    One row per (activity, skill) link, ordered by activity then by the activity's
    link order (the first link wins when an activity names a skill twice). Prerequisite
    edges are rows too. Built once per catalogue; never mutated.
    """

    skill_ids: IntArray
    skill_index: Mapping[int, int]
    activity_ids: IntArray
    activity_index: Mapping[int, int]
    kinds: tuple[str, ...]
    act_kind: IntArray
    act_duration: FloatArray
    act_difficulty: FloatArray
    act_n_items: IntArray
    act_group: IntArray  # -1 when the activity has no explanation group
    pair_act: IntArray
    pair_skill: IntArray
    pair_level: IntArray
    pair_weight: FloatArray
    pair_row: Mapping[tuple[int, int], int]  # (activity id, skill id) -> row
    edge_skill: IntArray
    edge_pre: IntArray
    groups: Mapping[str, int]

    @classmethod
    def build(cls, catalog: Catalog) -> PairTable:
        skill_ids = list(catalog.skills)
        skill_index = {s: i for i, s in enumerate(skill_ids)}
        for activity in catalog.activities.values():
            for link in activity.skills:
                if link.skill_id not in skill_index:
                    skill_index[link.skill_id] = len(skill_ids)
                    skill_ids.append(link.skill_id)
        activity_ids = list(catalog.activities)
        kinds: dict[str, int] = {}
        groups: dict[str, int] = {}
        act_kind: list[int] = []
        act_group: list[int] = []
        act_items: list[int] = []
        act_duration: list[float] = []
        act_difficulty: list[float] = []
        pair_act: list[int] = []
        pair_skill: list[int] = []
        pair_level: list[int] = []
        pair_weight: list[float] = []
        pair_row: dict[tuple[int, int], int] = {}
        for j, activity in enumerate(catalog.activities.values()):
            act_kind.append(kinds.setdefault(activity.kind, len(kinds)))
            group = activity.explanation_group
            act_group.append(
                -1 if group is None else groups.setdefault(group, len(groups))
            )
            act_items.append(activity.n_items)
            act_duration.append(activity.duration_min)
            act_difficulty.append(activity.difficulty)
            for link in activity.skills:
                key = (activity.id, link.skill_id)
                if key in pair_row:
                    continue
                pair_row[key] = len(pair_act)
                pair_act.append(j)
                pair_skill.append(skill_index[link.skill_id])
                pair_level.append(link.level)
                pair_weight.append(link.weight)
        edge_skill: list[int] = []
        edge_pre: list[int] = []
        for skill, pres in catalog.graph.prerequisites.items():
            for pre in pres:
                edge_skill.append(skill_index[skill])
                edge_pre.append(skill_index[pre])

        def ints(values: list[int]) -> IntArray:
            return np.asarray(_frozen(np.asarray(values, dtype=np.int64)))

        def floats(values: list[float]) -> FloatArray:
            return np.asarray(_frozen(np.asarray(values, dtype=np.float64)))

        return cls(
            skill_ids=ints(skill_ids),
            skill_index=skill_index,
            activity_ids=ints(activity_ids),
            activity_index={a: j for j, a in enumerate(activity_ids)},
            kinds=tuple(kinds),
            act_kind=ints(act_kind),
            act_duration=floats(act_duration),
            act_difficulty=floats(act_difficulty),
            act_n_items=ints(act_items),
            act_group=ints(act_group),
            pair_act=ints(pair_act),
            pair_skill=ints(pair_skill),
            pair_level=ints(pair_level),
            pair_weight=floats(pair_weight),
            pair_row=pair_row,
            edge_skill=ints(edge_skill),
            edge_pre=ints(edge_pre),
            groups=groups,
        )


@dataclass(frozen=True)
class SkillContent:
    """What each skill can be taught and checked with, by level (built once).

    Only an activity's first skill link makes it *the* content of that skill (later
    links are side tags). Lists keep the authored order (the module's, else the
    catalogue's), which is the fallback whenever the model cannot tell.
    """

    teach: Mapping[int, Mapping[int, tuple[int, ...]]]
    checks: Mapping[int, Mapping[int, tuple[int, ...]]]
    refreshers: Mapping[int, tuple[int, ...]]
    position: Mapping[int, int]
    #: Every activity whose answers can verify a target (a check kind with questions).
    check_ids: frozenset[int] = frozenset()

    @classmethod
    def build(cls, catalog: Catalog) -> SkillContent:
        order = [a for a in catalog.module_order if a in catalog.activities]
        seen = set(order)
        order += [a for a in catalog.activities if a not in seen]
        teach: dict[int, dict[int, list[int]]] = {}
        checks: dict[int, dict[int, list[int]]] = {}
        refreshers: dict[int, list[int]] = {}
        for activity_id in order:
            activity = catalog.activities[activity_id]
            if not activity.skills:
                continue
            main = activity.skills[0]
            if activity.kind == "refresher":
                refreshers.setdefault(main.skill_id, []).append(activity_id)
            elif activity.kind in CHECK_KINDS and activity.n_items > 0:
                by_level = checks.setdefault(main.skill_id, {})
                by_level.setdefault(main.level, []).append(activity_id)
            elif activity.kind not in CHECK_KINDS:
                by_level = teach.setdefault(main.skill_id, {})
                by_level.setdefault(main.level, []).append(activity_id)
        return cls(
            teach={
                s: {lv: tuple(v) for lv, v in sorted(d.items())}
                for s, d in teach.items()
            },
            checks={
                s: {lv: tuple(v) for lv, v in sorted(d.items())}
                for s, d in checks.items()
            },
            refreshers={s: tuple(v) for s, v in refreshers.items()},
            position={a: i for i, a in enumerate(order)},
            check_ids=frozenset(
                a
                for by_level in checks.values()
                for ids in by_level.values()
                for a in ids
            ),
        )

    def teach_levels(self, skill_id: int) -> tuple[int, ...]:
        return tuple(self.teach.get(skill_id, {}))

    def check_levels(self, skill_id: int) -> tuple[int, ...]:
        return tuple(self.checks.get(skill_id, {}))


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

    @cached_property
    def pairs(self) -> PairTable:
        """The numpy view of this catalogue, built on first use and then reused."""
        return PairTable.build(self)

    @cached_property
    def content(self) -> SkillContent:
        """Teaching and checking content per skill and level, built on first use."""
        return SkillContent.build(self)

    @cached_property
    def main_links(self) -> Mapping[int, tuple[int, int, bool]]:
        """activity -> (its main skill, that link's level, whether it is a check).

        Activities with no skill are absent. Built once: a decision reads the whole
        history through it, and attribute lookups per attempt are its cost.
        """
        checks = self.content.check_ids
        return {
            a.id: (a.skills[0].skill_id, a.skills[0].level, a.id in checks)
            for a in self.activities.values()
            if a.skills
        }

    @cached_property
    def memo(self) -> dict[Hashable, object]:
        """Values derived from this catalogue and hashable inputs (a role's work list),
        kept as long as the catalogue; each owner names and bounds its own entries."""
        return {}

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
