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

from adaptive.core.answers import MULTIPLE, SINGLE

FORMAT_NAME = "pathwise-catalogue"
FORMAT_VERSION = 1
ACTIVITY_TYPES = (
    "lesson",
    "worked_example",
    "practice",
    "quiz",
    "refresher",
    "placement_item",
    "xapi",
    "scenario",
    "video",
    "link",
)
# An external xAPI activity: launched at ``url`` with the xAPI launch parameters; the
# statements it sends name ``activity_id`` (its IRI), which the content stores here.
XAPI_TYPE = "xapi"
XAPI_ACTIVITY_ID = "xapi_activity_id"
QUESTION_TYPES = frozenset({"quiz", "placement_item", "scenario"})
#: Activity types that are an external resource: their ``url`` is what the learner
#: opens (for ``xapi`` it is the launch page; for every other type it is only the
#: activity's xAPI identity).
URL_TYPES = frozenset({"video", "link"})
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
    """One question; ``skill``, ``level`` and ``difficulty`` override the activity's.

    ``None`` falls back: the skill to the activity's first tag, the level to the tag
    of that skill (else the activity's ``target_level``), the difficulty to the
    activity's (``ActivityDoc.question_tags`` resolves them). ``type`` is one of
    ``adaptive.core.answers.ANSWER_TYPES``; ``answer`` is an option index (single),
    a tuple of them (multiple), the expected text (short) or None (scenario).
    """

    prompt: str
    options: tuple[str, ...]
    answer: int | tuple[int, ...] | str | None
    explanation: str
    skill: str | None = None
    level: int | None = None
    difficulty: float | None = None
    type: str = SINGLE
    accepted: tuple[str, ...] = ()
    rubric: tuple[str, ...] = ()

    def tagged(self) -> bool:
        """Whether the author tagged this question itself."""
        return not (
            self.skill is None and self.level is None and self.difficulty is None
        )

    def to_dict(self) -> dict[str, Any]:
        """As stored in ``Activity.content`` and written in the catalogue file."""
        body: dict[str, Any] = {}
        if self.type != SINGLE:
            body["type"] = self.type
        body["prompt"] = self.prompt
        if self.options or self.type in (SINGLE, MULTIPLE):
            body["options"] = list(self.options)
        if isinstance(self.answer, tuple):
            body["answer"] = list(self.answer)
        elif self.answer is not None:
            body["answer"] = self.answer
        if self.accepted:
            body["accepted"] = list(self.accepted)
        if self.rubric:
            body["rubric"] = list(self.rubric)
        body["explanation"] = self.explanation
        if self.skill is not None:
            body["skill"] = self.skill
        if self.level is not None:
            body["level"] = self.level
        if self.difficulty is not None:
            body["difficulty"] = (
                int(self.difficulty)
                if float(self.difficulty).is_integer()
                else self.difficulty
            )
        return body


@dataclass(frozen=True)
class QuestionTag:
    """A question's resolved skill, level and difficulty (its own, else the activity's)."""

    skill: str
    level: int
    difficulty: float


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
    # Only for type ``xapi``: the activity IRI its statements carry.
    activity_id: str | None = None

    def content(self) -> dict[str, Any]:
        """The body as stored in ``Activity.content``."""
        body: dict[str, Any] = {"markdown": self.markdown}
        if self.questions:
            body["questions"] = [q.to_dict() for q in self.questions]
        if self.activity_id is not None:
            body[XAPI_ACTIVITY_ID] = self.activity_id
        return body

    def question_tags(self) -> tuple[QuestionTag, ...]:
        """Each question's skill, level and difficulty, with the activity's fallbacks.

        Empty when no question carries a tag of its own (the activity's tags then
        speak for all of its questions) or the activity has no skill.
        """
        if not self.skills or not any(q.tagged() for q in self.questions):
            return ()
        levels = {t.skill: t.level for t in self.skills}
        out = []
        for q in self.questions:
            skill = q.skill if q.skill is not None else self.skills[0].skill
            level = (
                q.level if q.level is not None else levels.get(skill, self.target_level)
            )
            difficulty = self.difficulty if q.difficulty is None else q.difficulty
            out.append(QuestionTag(skill, level, difficulty))
        return tuple(out)


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
