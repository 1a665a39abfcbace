"""Pure catalogue format: parse, validate and serialise catalogue files (JSON, CSV).

A catalogue file describes one skills framework with its skills (a prerequisite DAG),
role profiles (target levels), micro-activities tagged with skills, and modules.
Parsing is all-or-nothing: every problem is collected with the line it sits on, and
nothing is returned unless the whole file is valid. Format: ``docs/author-guide.md``.
"""

from __future__ import annotations

import bisect
import csv
import io
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

FORMAT_NAME = "pathwise-catalogue"
FORMAT_VERSION = 1
ACTIVITY_TYPES = (
    "lesson",
    "worked_example",
    "practice",
    "quiz",
    "refresher",
    "placement_item",
)
QUESTION_TYPES = frozenset({"quiz", "placement_item"})
KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
TAG_CSV_HEADER = ("activity_key", "skill_key", "weight", "level")
MAX_NAME = 300
MAX_URL = 1000
# Difficulty is relative to the activity's level, in logit-like units (0 = typical).
MAX_DIFFICULTY = 3.0

Path = tuple[str | int, ...]


class CatalogueIssue(NamedTuple):
    """One problem in a catalogue file: 1-based line, where in the document, what."""

    line: int
    path: str
    message: str


class CatalogueError(ValueError):
    """Raised with every problem found; the file was not imported at all."""

    def __init__(self, source_name: str, issues: Sequence[CatalogueIssue]) -> None:
        self.source_name = source_name
        self.issues = sorted(issues, key=lambda i: (i.line, i.path, i.message))
        super().__init__(self.render())

    def render(self) -> str:
        """Compiler-style lines: ``file:line: path: message``."""
        out = []
        for issue in self.issues:
            where = f" {issue.path}:" if issue.path else ""
            out.append(f"{self.source_name}:{issue.line}:{where} {issue.message}")
        return "\n".join(out)


@dataclass(frozen=True)
class FrameworkDoc:
    key: str
    name: str
    description: str
    scale: tuple[str, ...]

    @property
    def max_level(self) -> int:
        return len(self.scale) - 1


@dataclass(frozen=True)
class SkillDoc:
    key: str
    name: str
    description: str
    prerequisites: tuple[str, ...]
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class RoleTargetDoc:
    skill: str
    level: int


@dataclass(frozen=True)
class RoleDoc:
    key: str
    name: str
    description: str
    horizon_days: int
    targets: tuple[RoleTargetDoc, ...]
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class SkillTagDoc:
    """An activity teaches or assesses ``skill`` at ``level``, by ``weight``."""

    skill: str
    weight: float
    level: int


@dataclass(frozen=True)
class QuestionDoc:
    prompt: str
    options: tuple[str, ...]
    answer: int
    explanation: str


@dataclass(frozen=True)
class ActivityDoc:
    key: str
    title: str
    type: str
    duration_min: float
    difficulty: float
    target_level: int
    explanation_group: str | None
    url: str | None
    skills: tuple[SkillTagDoc, ...]
    markdown: str
    questions: tuple[QuestionDoc, ...]
    line: int = field(default=0, compare=False)

    def content(self) -> dict[str, Any]:
        """The body as stored in ``Activity.content``."""
        body: dict[str, Any] = {"markdown": self.markdown}
        if self.questions:
            body["questions"] = [
                {
                    "prompt": q.prompt,
                    "options": list(q.options),
                    "answer": q.answer,
                    "explanation": q.explanation,
                }
                for q in self.questions
            ]
        return body


@dataclass(frozen=True)
class ModuleDoc:
    key: str
    title: str
    description: str
    default_role: str | None
    placement_budget: int
    activities: tuple[str, ...]
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class CatalogueDoc:
    framework: FrameworkDoc
    skills: tuple[SkillDoc, ...]
    roles: tuple[RoleDoc, ...]
    activities: tuple[ActivityDoc, ...]
    modules: tuple[ModuleDoc, ...]
    source_name: str = field(default="<catalogue>", compare=False)

    def skill(self, key: str) -> SkillDoc:
        return next(s for s in self.skills if s.key == key)

    def activity(self, key: str) -> ActivityDoc:
        return next(a for a in self.activities if a.key == key)


@dataclass(frozen=True)
class TagRow:
    """One row of an activity-tagging CSV."""

    line: int
    activity_key: str
    skill_key: str
    weight: float
    level: int


# --------------------------------------------------------------------------- positions


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")


class _Positions:
    """Line of every value in an (already valid) JSON text, keyed by its path.

    ``json`` keeps no positions, so this walks the text once more; it also finds
    duplicate object keys, which ``json.loads`` silently collapses.
    """

    def __init__(self, text: str) -> None:
        self._text = text
        self._newlines = [i for i, ch in enumerate(text) if ch == "\n"]
        self.lines: dict[Path, int] = {}
        self.duplicates: list[tuple[int, Path, str]] = []
        self._value(self._skip(0), ())

    def line_at(self, pos: int) -> int:
        return bisect.bisect_left(self._newlines, pos) + 1

    def _skip(self, pos: int) -> int:
        while pos < len(self._text) and self._text[pos] in " \t\n\r":
            pos += 1
        return pos

    def _string(self, pos: int) -> tuple[str, int]:
        match = _STRING.match(self._text, pos)
        if match is None:  # pragma: no cover - the text was validated by json.loads
            raise ValueError(f"expected a string at {pos}")
        return str(json.loads(match.group())), match.end()

    def _value(self, pos: int, path: Path) -> int:
        self.lines[path] = self.line_at(pos)
        ch = self._text[pos]
        if ch == "{":
            return self._object(pos + 1, path)
        if ch == "[":
            return self._array(pos + 1, path)
        if ch == '"':
            return self._string(pos)[1]
        for literal in ("true", "false", "null"):
            if self._text.startswith(literal, pos):
                return pos + len(literal)
        match = _NUMBER.match(self._text, pos)
        if match is None:  # pragma: no cover - the text was validated by json.loads
            raise ValueError(f"unexpected character at {pos}")
        return match.end()

    def _object(self, pos: int, path: Path) -> int:
        pos = self._skip(pos)
        seen: set[str] = set()
        if self._text[pos] == "}":
            return pos + 1
        while True:
            key_pos = pos
            key, pos = self._string(pos)
            if key in seen:
                self.duplicates.append((self.line_at(key_pos), path, key))
            seen.add(key)
            pos = self._skip(self._skip(pos) + 1)  # past ':'
            pos = self._skip(self._value(pos, (*path, key)))
            if self._text[pos] == "}":
                return pos + 1
            pos = self._skip(pos + 1)  # past ','

    def _array(self, pos: int, path: Path) -> int:
        pos = self._skip(pos)
        if self._text[pos] == "]":
            return pos + 1
        index = 0
        while True:
            pos = self._skip(self._value(pos, (*path, index)))
            index += 1
            if self._text[pos] == "]":
                return pos + 1
            pos = self._skip(pos + 1)


def format_path(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


# --------------------------------------------------------------------------- validation


class _Checker:
    """Collects issues, each pinned to the line of the nearest located value."""

    def __init__(self, positions: _Positions) -> None:
        self.positions = positions
        self.issues: list[CatalogueIssue] = []

    def line(self, path: Path) -> int:
        while path not in self.positions.lines and path:
            path = path[:-1]
        return self.positions.lines.get(path, 1)

    def error(self, path: Path, message: str) -> None:
        self.issues.append(CatalogueIssue(self.line(path), format_path(path), message))

    def obj(
        self, value: Any, path: Path, allowed: Iterable[str]
    ) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.error(path, f"must be an object, got {_kind(value)}")
            return None
        allowed_set = set(allowed)
        for name in value:
            if name not in allowed_set:
                self.error(
                    (*path, name),
                    f"unknown field {name!r} "
                    f"(allowed: {', '.join(sorted(allowed_set))})",
                )
        return value

    def array(
        self, obj: dict[str, Any], path: Path, name: str, *, required: bool
    ) -> list[Any]:
        if name not in obj:
            if required:
                self.error(path, f"missing required field {name!r}")
            return []
        value = obj[name]
        if not isinstance(value, list):
            self.error((*path, name), f"must be a list, got {_kind(value)}")
            return []
        return value

    def string(
        self,
        obj: dict[str, Any],
        path: Path,
        name: str,
        *,
        required: bool = True,
        default: str = "",
        max_len: int | None = None,
        non_empty: bool = True,
    ) -> str:
        if name not in obj:
            if required:
                self.error(path, f"missing required field {name!r}")
            return default
        value = obj[name]
        if not isinstance(value, str):
            self.error((*path, name), f"must be a string, got {_kind(value)}")
            return default
        if non_empty and required and not value.strip():
            self.error((*path, name), "must not be empty")
        if max_len is not None and len(value) > max_len:
            self.error(
                (*path, name), f"is {len(value)} characters long (at most {max_len})"
            )
        return value

    def key(self, obj: dict[str, Any], path: Path, name: str = "key") -> str:
        value = self.string(obj, path, name)
        if value and not KEY_PATTERN.match(value):
            self.error(
                (*path, name),
                f"{value!r} is not a valid key (lower-case letters, digits, "
                "'.', '_', '-'; at most 100 characters)",
            )
        return value

    def integer(
        self, obj: dict[str, Any], path: Path, name: str, *, default: int | None = None
    ) -> int | None:
        if name not in obj:
            if default is None:
                self.error(path, f"missing required field {name!r}")
            return default
        value = obj[name]
        if isinstance(value, bool) or not isinstance(value, int):
            self.error((*path, name), f"must be a whole number, got {_kind(value)}")
            return None
        return value

    def number(
        self,
        obj: dict[str, Any],
        path: Path,
        name: str,
        *,
        default: float | None = None,
    ) -> float | None:
        if name not in obj:
            if default is None:
                self.error(path, f"missing required field {name!r}")
            return default
        value = obj[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.error((*path, name), f"must be a number, got {_kind(value)}")
            return None
        if not math.isfinite(value):
            self.error((*path, name), "must be a finite number")
            return None
        return float(value)

    def level(
        self, value: int | None, path: Path, max_level: int, *, minimum: int
    ) -> int:
        if value is None:
            return minimum
        if not minimum <= value <= max_level:
            self.error(
                path,
                f"level {value} is outside the framework's scale "
                f"({minimum}..{max_level})",
            )
        return value

    def unique(self, items: Sequence[tuple[str, Path]], what: str) -> None:
        first: dict[str, Path] = {}
        for key, path in items:
            if not key:
                continue
            if key in first:
                self.error(
                    path,
                    f"duplicate {what} key {key!r} "
                    f"(first defined on line {self.line(first[key])})",
                )
            else:
                first[key] = path


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return "a string" if isinstance(value, str) else "a number"


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
_ACTIVITY_FIELDS = (
    "key",
    "title",
    "type",
    "duration_min",
    "difficulty",
    "target_level",
    "explanation_group",
    "url",
    "skills",
    "content",
)
_TAG_FIELDS = ("skill", "weight", "level")
_CONTENT_FIELDS = ("markdown", "questions")
_QUESTION_FIELDS = ("prompt", "options", "answer", "explanation")
_MODULE_FIELDS = (
    "key",
    "title",
    "description",
    "default_role",
    "placement_budget",
    "activities",
)


def parse_catalogue(text: str, *, source_name: str = "<catalogue>") -> CatalogueDoc:
    """Parse and validate a catalogue file; all or nothing.

    Args:
        text: the file's JSON text.
        source_name: how errors name the file (usually its path).

    Returns:
        The validated document.

    Raises:
        CatalogueError: with every problem found, each with its line number.
    """
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        issue = CatalogueIssue(
            exc.lineno, "", f"invalid JSON: {exc.msg} (column {exc.colno})"
        )
        raise CatalogueError(source_name, [issue]) from None
    except RecursionError:
        raise CatalogueError(
            source_name, [CatalogueIssue(1, "", "invalid JSON: nested too deeply")]
        ) from None
    positions = _Positions(text)
    check = _Checker(positions)
    for line, path, key in positions.duplicates:
        check.issues.append(
            CatalogueIssue(
                line, format_path(path), f"duplicate field {key!r} in the same object"
            )
        )
    doc = _build(raw, check, source_name)
    if check.issues or doc is None:
        raise CatalogueError(source_name, check.issues)
    return doc


def _build(raw: Any, check: _Checker, source_name: str) -> CatalogueDoc | None:
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
            a := _activity(
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


def _framework(value: Any, check: _Checker) -> FrameworkDoc | None:
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


def _skill(value: Any, path: Path, check: _Checker) -> SkillDoc | None:
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
                (*path, "prerequisites", i), f"must be a skill key, got {_kind(ref)}"
            )
        elif ref in prerequisites:
            check.error(
                (*path, "prerequisites", i), f"prerequisite {ref!r} is listed twice"
            )
        else:
            prerequisites.append(ref)
    return SkillDoc(key, name, description, tuple(prerequisites), line=check.line(path))


def _check_prerequisites(
    skills: Sequence[SkillDoc], skill_keys: set[str], check: _Checker
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
    value: Any, path: Path, check: _Checker, skill_keys: set[str], max_level: int
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
                    where, f"target level must be a whole number, got {_kind(level)}"
                )
                continue
            targets.append(
                RoleTargetDoc(skill, check.level(level, where, max_level, minimum=0))
            )
    return RoleDoc(
        key, name, description, horizon or 60, tuple(targets), line=check.line(path)
    )


def _activity(
    value: Any, path: Path, check: _Checker, skill_keys: set[str], max_level: int
) -> ActivityDoc | None:
    obj = check.obj(value, path, _ACTIVITY_FIELDS)
    if obj is None:
        return None
    key = check.key(obj, path)
    title = check.string(obj, path, "title", max_len=MAX_NAME)
    kind = check.string(obj, path, "type")
    if kind and kind not in ACTIVITY_TYPES:
        check.error(
            (*path, "type"),
            f"unknown type {kind!r} (one of: {', '.join(ACTIVITY_TYPES)})",
        )
    duration = check.number(obj, path, "duration_min")
    if duration is not None and duration <= 0:
        check.error(
            (*path, "duration_min"), f"must be more than 0 minutes, got {duration:g}"
        )
    difficulty = check.number(obj, path, "difficulty", default=0.0)
    if difficulty is not None and not -MAX_DIFFICULTY <= difficulty <= MAX_DIFFICULTY:
        check.error(
            (*path, "difficulty"),
            f"must be between -{MAX_DIFFICULTY:g} and {MAX_DIFFICULTY:g} "
            f"(0 = typical for its level), got {difficulty:g}",
        )
    group: str | None = None
    if obj.get("explanation_group") is not None:
        group = check.key(obj, path, "explanation_group")
    url: str | None = None
    if obj.get("url") is not None:
        url = check.string(obj, path, "url", max_len=MAX_URL)
    tags = _tags(
        check.array(obj, path, "skills", required=True),
        path,
        check,
        skill_keys,
        key,
        max_level,
    )
    if "skills" in obj and isinstance(obj["skills"], list) and not obj["skills"]:
        check.error(
            (*path, "skills"), "an activity must teach or assess at least one skill"
        )
    if "target_level" in obj:
        target = check.integer(obj, path, "target_level")
        target_level = check.level(
            target, (*path, "target_level"), max_level, minimum=1
        )
    else:
        target_level = min(max((t.level for t in tags), default=1), max_level)
    markdown, questions = _content(obj, path, check, kind)
    return ActivityDoc(
        key=key,
        title=title,
        type=kind,
        duration_min=duration or 0.0,
        difficulty=difficulty if difficulty is not None else 0.0,
        target_level=target_level,
        explanation_group=group,
        url=url,
        skills=tags,
        markdown=markdown,
        questions=questions,
        line=check.line(path),
    )


def _tags(
    items: list[Any],
    path: Path,
    check: _Checker,
    skill_keys: set[str],
    activity: str,
    max_level: int,
) -> tuple[SkillTagDoc, ...]:
    tags: list[SkillTagDoc] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        where: Path = (*path, "skills", i)
        tag = check.obj(item, where, _TAG_FIELDS)
        if tag is None:
            continue
        skill = check.string(tag, where, "skill")
        if skill and skill not in skill_keys:
            check.error(
                (*where, "skill"),
                f"unknown skill {skill!r} (tagged on activity {activity!r})",
            )
        if skill in seen:
            check.error(
                (*where, "skill"), f"skill {skill!r} is tagged twice on {activity!r}"
            )
        seen.add(skill)
        weight = check.number(tag, where, "weight", default=1.0)
        if weight is not None and weight <= 0:
            check.error(
                (*where, "weight"), f"weight must be more than 0, got {weight:g}"
            )
        level = check.integer(tag, where, "level")
        tags.append(
            SkillTagDoc(
                skill,
                weight if weight is not None else 1.0,
                check.level(level, (*where, "level"), max_level, minimum=1),
            )
        )
    return tuple(tags)


def _content(
    obj: dict[str, Any], path: Path, check: _Checker, kind: str
) -> tuple[str, tuple[QuestionDoc, ...]]:
    where: Path = (*path, "content")
    if "content" not in obj:
        check.error(path, "missing required field 'content'")
        return "", ()
    content = check.obj(obj["content"], where, _CONTENT_FIELDS)
    if content is None:
        return "", ()
    needs_questions = kind in QUESTION_TYPES
    markdown = check.string(content, where, "markdown", required=not needs_questions)
    questions: list[QuestionDoc] = []
    for i, item in enumerate(
        check.array(content, where, "questions", required=needs_questions)
    ):
        question = _question(item, (*where, "questions", i), check)
        if question is not None:
            questions.append(question)
    raw = content.get("questions")
    if needs_questions and isinstance(raw, list):
        if not raw:
            check.error((*where, "questions"), f"a {kind} needs at least one question")
        if kind == "placement_item" and len(raw) > 1:
            check.error(
                (*where, "questions"), "a placement item asks exactly one question"
            )
    return markdown, tuple(questions)


def _question(value: Any, path: Path, check: _Checker) -> QuestionDoc | None:
    obj = check.obj(value, path, _QUESTION_FIELDS)
    if obj is None:
        return None
    prompt = check.string(obj, path, "prompt")
    explanation = check.string(obj, path, "explanation")
    options: list[str] = []
    for i, option in enumerate(check.array(obj, path, "options", required=True)):
        if not isinstance(option, str) or not option.strip():
            check.error((*path, "options", i), "each option must be a non-empty string")
        elif option in options:
            check.error((*path, "options", i), f"option {option!r} is listed twice")
        else:
            options.append(option)
    raw_options = obj.get("options")
    if isinstance(raw_options, list) and not 2 <= len(raw_options) <= 6:
        check.error((*path, "options"), f"needs 2 to 6 options, got {len(raw_options)}")
    answer = check.integer(obj, path, "answer")
    if (
        answer is not None
        and isinstance(raw_options, list)
        and not 0 <= answer < len(raw_options)
    ):
        check.error(
            (*path, "answer"),
            f"answer is the 0-based index of the right option; {answer} is not in "
            f"0..{len(raw_options) - 1}",
        )
    return QuestionDoc(prompt, tuple(options), answer or 0, explanation)


def _module(
    value: Any,
    path: Path,
    check: _Checker,
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
            check.error(where, f"must be an activity key, got {_kind(ref)}")
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


# --------------------------------------------------------------------------- export


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def catalogue_to_dict(doc: CatalogueDoc) -> dict[str, Any]:
    """The canonical JSON-ready form of a catalogue (``export_catalogue`` writes it)."""
    activities = []
    for a in doc.activities:
        item: dict[str, Any] = {
            "key": a.key,
            "title": a.title,
            "type": a.type,
            "duration_min": _number(a.duration_min),
            "difficulty": _number(a.difficulty),
            "target_level": a.target_level,
        }
        if a.explanation_group is not None:
            item["explanation_group"] = a.explanation_group
        if a.url is not None:
            item["url"] = a.url
        item["skills"] = [
            {"skill": t.skill, "weight": _number(t.weight), "level": t.level}
            for t in a.skills
        ]
        item["content"] = a.content()
        activities.append(item)
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "framework": {
            "key": doc.framework.key,
            "name": doc.framework.name,
            "description": doc.framework.description,
            "scale": list(doc.framework.scale),
        },
        "skills": [
            {
                "key": s.key,
                "name": s.name,
                "description": s.description,
                "prerequisites": list(s.prerequisites),
            }
            for s in doc.skills
        ],
        "roles": [
            {
                "key": r.key,
                "name": r.name,
                "description": r.description,
                "horizon_days": r.horizon_days,
                "targets": {t.skill: t.level for t in r.targets},
            }
            for r in doc.roles
        ],
        "activities": activities,
        "modules": [
            {
                "key": m.key,
                "title": m.title,
                "description": m.description,
                "default_role": m.default_role,
                "placement_budget": m.placement_budget,
                "activities": list(m.activities),
            }
            for m in doc.modules
        ],
    }


def export_catalogue(doc: CatalogueDoc) -> str:
    """Serialise a catalogue in the format ``parse_catalogue`` reads (round-trips)."""
    return json.dumps(catalogue_to_dict(doc), indent=2, ensure_ascii=False) + "\n"


# ----------------------------------------------------------------------- tagging CSV


def parse_tagging_csv(text: str, *, source_name: str = "<tags.csv>") -> list[TagRow]:
    """Parse ``activity_key,skill_key,weight,level`` rows; all or nothing.

    A header row with exactly those names is optional; blank lines and lines starting
    with ``#`` are ignored. References are checked later against a catalogue
    (``check_tagging``) because the CSV alone does not know the framework.

    Raises:
        CatalogueError: every malformed row, with its line number.
    """
    issues: list[CatalogueIssue] = []
    rows: list[TagRow] = []
    first_line: dict[tuple[str, str], int] = {}
    reader = csv.reader(io.StringIO(text))
    previous_end = 0
    try:
        for record in reader:
            line = previous_end + 1
            previous_end = reader.line_num
            cells = [c.strip() for c in record]
            if not any(cells) or cells[0].startswith("#"):
                continue
            if (
                not rows
                and not issues
                and tuple(c.lower() for c in cells) == TAG_CSV_HEADER
            ):
                continue
            row = _tag_row(cells, line, issues)
            if row is None:
                continue
            pair = (row.activity_key, row.skill_key)
            if pair in first_line:
                issues.append(
                    CatalogueIssue(
                        line,
                        "",
                        f"activity {row.activity_key!r} is tagged with "
                        f"{row.skill_key!r} again "
                        f"(first on line {first_line[pair]})",
                    )
                )
                continue
            first_line[pair] = line
            rows.append(row)
    except csv.Error as exc:
        issues.append(CatalogueIssue(reader.line_num or 1, "", f"invalid CSV: {exc}"))
    if not rows and not issues:
        issues.append(CatalogueIssue(1, "", "no tagging rows found"))
    if issues:
        raise CatalogueError(source_name, issues)
    return rows


def _tag_row(
    cells: list[str], line: int, issues: list[CatalogueIssue]
) -> TagRow | None:
    if len(cells) != len(TAG_CSV_HEADER):
        issues.append(
            CatalogueIssue(
                line,
                "",
                f"expected 4 columns ({','.join(TAG_CSV_HEADER)}), got {len(cells)}",
            )
        )
        return None
    activity, skill, raw_weight, raw_level = cells
    ok = True
    for name, value in (("activity_key", activity), ("skill_key", skill)):
        if not KEY_PATTERN.match(value):
            issues.append(CatalogueIssue(line, name, f"{value!r} is not a valid key"))
            ok = False
    try:
        weight = float(raw_weight)
        if not math.isfinite(weight) or weight <= 0:
            raise ValueError
    except ValueError:
        issues.append(
            CatalogueIssue(
                line, "weight", f"must be a number above 0, got {raw_weight!r}"
            )
        )
        ok = False
    try:
        level = int(raw_level)
    except ValueError:
        issues.append(
            CatalogueIssue(line, "level", f"must be a whole number, got {raw_level!r}")
        )
        ok = False
    if not ok:
        return None
    return TagRow(line, activity, skill, weight, level)


def check_tagging(
    rows: Sequence[TagRow],
    *,
    source_name: str,
    activity_keys: Iterable[str],
    skill_keys: Iterable[str],
    max_level: int,
) -> None:
    """Check tagging rows against a framework's keys and scale.

    Raises:
        CatalogueError: unknown activities or skills and out-of-scale levels, by line.
    """
    activities, skills = set(activity_keys), set(skill_keys)
    issues: list[CatalogueIssue] = []
    for row in rows:
        if row.activity_key not in activities:
            issues.append(
                CatalogueIssue(
                    row.line, "activity_key", f"unknown activity {row.activity_key!r}"
                )
            )
        if row.skill_key not in skills:
            issues.append(
                CatalogueIssue(
                    row.line, "skill_key", f"unknown skill {row.skill_key!r}"
                )
            )
        if not 1 <= row.level <= max_level:
            issues.append(
                CatalogueIssue(
                    row.line,
                    "level",
                    f"level {row.level} is outside the framework's scale "
                    f"(1..{max_level})",
                )
            )
    if issues:
        raise CatalogueError(source_name, issues)
