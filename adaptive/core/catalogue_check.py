"""Pure adaptive core: where a catalogue import is validated (all but the activities).

Every rule records its problem and carries on, so an author sees all of them at once;
activities have their own rules in ``catalogue_check_activities``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adaptive.core.catalogue_check_activities import check_activity
from adaptive.core.catalogue_checker import Checker, kind_of
from adaptive.core.catalogue_format import (
    FORMAT_NAME,
    FORMAT_VERSION,
    MAX_NAME,
    CatalogueDoc,
    FrameworkDoc,
    ModuleDoc,
    Path,
    RoleDoc,
    RoleTargetDoc,
    SkillDoc,
)

_TOP_FIELDS = (
    "format",
    "version",
    "framework",
    "skills",
    "roles",
    "activities",
    "modules",
)
_FRAMEWORK_FIELDS = ("key", "name", "description", "scale")
_SKILL_FIELDS = ("key", "name", "description", "prerequisites")
_ROLE_FIELDS = ("key", "name", "description", "horizon_days", "targets")
_MODULE_FIELDS = (
    "key",
    "title",
    "description",
    "default_role",
    "placement_budget",
    "activities",
)


def check_catalogue(raw: Any, check: Checker, source_name: str) -> CatalogueDoc | None:
    """Validate a decoded catalogue into its document, recording problems in ``check``.

    Returns:
        The document, or ``None`` when it is too broken to build one; the caller
        raises unless ``check.issues`` is empty.
    """
    top = check.obj(raw, (), _TOP_FIELDS)
    if top is None:
        return None
    fmt = check.string(top, (), "format")
    if fmt and fmt != FORMAT_NAME:
        check.error(("format",), f"must be {FORMAT_NAME!r}, got {fmt!r}")
    version = check.integer(top, (), "version")
    if version is not None and version != FORMAT_VERSION:
        check.error(
            ("version",),
            f"unsupported version {version} (this Pathwise reads {FORMAT_VERSION})",
        )
    if "framework" not in top:
        check.error((), "missing required field 'framework'")
        return None
    framework = _framework(top["framework"], check)
    if framework is None:
        return None
    skills = tuple(
        s
        for i, item in enumerate(check.array(top, (), "skills", required=True))
        if (s := _skill(item, ("skills", i), check)) is not None
    )
    check.unique([(s.key, ("skills", i, "key")) for i, s in enumerate(skills)], "skill")
    skill_keys = {s.key for s in skills}
    _check_prerequisites(skills, skill_keys, check)
    roles = tuple(
        r
        for i, item in enumerate(check.array(top, (), "roles", required=False))
        if (r := _role(item, ("roles", i), check, skill_keys, framework.max_level))
        is not None
    )
    check.unique([(r.key, ("roles", i, "key")) for i, r in enumerate(roles)], "role")
    activities = tuple(
        a
        for i, item in enumerate(check.array(top, (), "activities", required=True))
        if (
            a := check_activity(
                item, ("activities", i), check, skill_keys, framework.max_level
            )
        )
        is not None
    )
    check.unique(
        [(a.key, ("activities", i, "key")) for i, a in enumerate(activities)],
        "activity",
    )
    role_keys = {r.key for r in roles}
    activity_keys = {a.key for a in activities}
    modules = tuple(
        m
        for i, item in enumerate(check.array(top, (), "modules", required=False))
        if (m := _module(item, ("modules", i), check, role_keys, activity_keys))
        is not None
    )
    check.unique(
        [(m.key, ("modules", i, "key")) for i, m in enumerate(modules)], "module"
    )
    return CatalogueDoc(framework, skills, roles, activities, modules, source_name)


def _framework(value: Any, check: Checker) -> FrameworkDoc | None:
    path: Path = ("framework",)
    obj = check.obj(value, path, _FRAMEWORK_FIELDS)
    if obj is None:
        return None
    key = check.key(obj, path)
    name = check.string(obj, path, "name", max_len=MAX_NAME)
    description = check.string(obj, path, "description", required=False)
    raw_scale = check.array(obj, path, "scale", required=True)
    scale: list[str] = []
    for i, label in enumerate(raw_scale):
        if not isinstance(label, str) or not label.strip():
            check.error((*path, "scale", i), "each level needs a non-empty label")
        else:
            scale.append(label)
    if (
        "scale" in obj
        and isinstance(obj["scale"], list)
        and not 2 <= len(raw_scale) <= 11
    ):
        check.error(
            (*path, "scale"), f"needs 2 to 11 levels (0..n), got {len(raw_scale)}"
        )
    if len(scale) < 2:
        return None
    return FrameworkDoc(key, name, description, tuple(scale))


def _skill(value: Any, path: Path, check: Checker) -> SkillDoc | None:
    obj = check.obj(value, path, _SKILL_FIELDS)
    if obj is None:
        return None
    key = check.key(obj, path)
    name = check.string(obj, path, "name", max_len=MAX_NAME)
    description = check.string(obj, path, "description", required=False)
    prerequisites: list[str] = []
    for i, ref in enumerate(check.array(obj, path, "prerequisites", required=False)):
        if not isinstance(ref, str):
            check.error(
                (*path, "prerequisites", i), f"must be a skill key, got {kind_of(ref)}"
            )
        elif ref in prerequisites:
            check.error(
                (*path, "prerequisites", i), f"prerequisite {ref!r} is listed twice"
            )
        else:
            prerequisites.append(ref)
    return SkillDoc(key, name, description, tuple(prerequisites), line=check.line(path))


def _check_prerequisites(
    skills: Sequence[SkillDoc], skill_keys: set[str], check: Checker
) -> None:
    index = {s.key: i for i, s in enumerate(skills)}
    for i, skill in enumerate(skills):
        for j, ref in enumerate(skill.prerequisites):
            where: Path = ("skills", i, "prerequisites", j)
            if ref == skill.key:
                check.error(
                    where, f"skill {skill.key!r} cannot be its own prerequisite"
                )
            elif ref not in skill_keys:
                check.error(
                    where, f"unknown skill {ref!r} (prerequisite of {skill.key!r})"
                )
    graph: dict[str, list[str]] = {}
    for s in skills:
        graph.setdefault(
            s.key, [p for p in s.prerequisites if p in skill_keys and p != s.key]
        )
    for cycle in find_cycles(graph):
        start = cycle[0]
        check.error(
            ("skills", index[start], "prerequisites"),
            "prerequisite cycle: "
            + " -> ".join([*cycle, start])
            + " (each needs the next)",
        )


def find_cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Cycles in a directed graph, each once, rotated to start at its smallest key."""
    state: dict[str, int] = {}
    stack: list[str] = []
    found: dict[tuple[str, ...], list[str]] = {}

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt) :]
                pivot = cycle.index(min(cycle))
                rotated = cycle[pivot:] + cycle[:pivot]
                found.setdefault(tuple(rotated), rotated)
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node)
    return list(found.values())


def _role(
    value: Any, path: Path, check: Checker, skill_keys: set[str], max_level: int
) -> RoleDoc | None:
    obj = check.obj(value, path, _ROLE_FIELDS)
    if obj is None:
        return None
    key = check.key(obj, path)
    name = check.string(obj, path, "name", max_len=MAX_NAME)
    description = check.string(obj, path, "description", required=False)
    horizon = check.integer(obj, path, "horizon_days", default=60)
    if horizon is not None and horizon <= 0:
        check.error((*path, "horizon_days"), f"must be more than 0 days, got {horizon}")
    targets: list[RoleTargetDoc] = []
    raw_targets = obj.get("targets")
    if raw_targets is None:
        check.error(path, "missing required field 'targets'")
    elif not isinstance(raw_targets, dict):
        check.error(
            (*path, "targets"), "must be an object of skill key -> target level"
        )
    else:
        if not raw_targets:
            check.error((*path, "targets"), "a role needs at least one target")
        for skill, level in raw_targets.items():
            where: Path = (*path, "targets", skill)
            if skill not in skill_keys:
                check.error(where, f"unknown skill {skill!r} (target of role {key!r})")
            if isinstance(level, bool) or not isinstance(level, int):
                check.error(
                    where, f"target level must be a whole number, got {kind_of(level)}"
                )
                continue
            targets.append(
                RoleTargetDoc(skill, check.level(level, where, max_level, minimum=0))
            )
    return RoleDoc(
        key, name, description, horizon or 60, tuple(targets), line=check.line(path)
    )


def _module(
    value: Any,
    path: Path,
    check: Checker,
    role_keys: set[str],
    activity_keys: set[str],
) -> ModuleDoc | None:
    obj = check.obj(value, path, _MODULE_FIELDS)
    if obj is None:
        return None
    key = check.key(obj, path)
    title = check.string(obj, path, "title", max_len=MAX_NAME)
    description = check.string(obj, path, "description", required=False)
    role: str | None = None
    if obj.get("default_role") is not None:
        role = check.string(obj, path, "default_role")
        if role and role not in role_keys:
            check.error(
                (*path, "default_role"), f"unknown role {role!r} (module {key!r})"
            )
    budget = check.integer(obj, path, "placement_budget", default=8)
    if budget is not None and budget < 0:
        check.error((*path, "placement_budget"), f"must be 0 or more, got {budget}")
    refs: list[str] = []
    for i, ref in enumerate(check.array(obj, path, "activities", required=True)):
        where: Path = (*path, "activities", i)
        if not isinstance(ref, str):
            check.error(where, f"must be an activity key, got {kind_of(ref)}")
        elif ref not in activity_keys:
            check.error(where, f"unknown activity {ref!r} (in module {key!r})")
        elif ref in refs:
            check.error(where, f"activity {ref!r} appears twice in module {key!r}")
        else:
            refs.append(ref)
    return ModuleDoc(
        key,
        title,
        description,
        role,
        8 if budget is None else budget,
        tuple(refs),
        check.line(path),
    )
