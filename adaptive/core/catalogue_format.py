"""Pure adaptive core: the catalogue document, its format constants and its error.

A catalogue file describes one skills framework with its skills (a prerequisite DAG),
role profiles (target levels), micro-activities tagged with skills, and modules. These
frozen dataclasses are what parsing returns, imports store and exports write, so every
catalogue module shares one vocabulary. Format: ``docs/author-guide.md``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
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
MAX_NAME = 300
MAX_URL = 1000
# Difficulty is relative to the activity's level, in logit-like units (0 = typical).
MAX_DIFFICULTY = 3.0

# Where a value sits in a catalogue document: object keys and list indexes.
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
