"""Pure adaptive core: the question-tagging CSV (a skill, level, difficulty per question).

The spreadsheet twin of the catalogue's per-question ``skill``/``level``/``difficulty``:
rows are parsed all or nothing, then checked against the framework (its activities,
their questions, its skills and scale) before anything is stored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from adaptive.core.catalogue_csv import csv_records
from adaptive.core.catalogue_format import (
    KEY_PATTERN,
    MAX_DIFFICULTY,
    CatalogueError,
    CatalogueIssue,
)

QUESTION_CSV_HEADER = ("activity_key", "question", "skill_key", "level", "difficulty")


@dataclass(frozen=True)
class QuestionTagRow:
    """One row: question ``question`` (0-based) of an activity; empty cells = None."""

    line: int
    activity_key: str
    question: int
    skill_key: str | None
    level: int | None
    difficulty: float | None


def is_question_csv(text: str) -> bool:
    """Whether a tagging CSV is the question kind (it must start with its header)."""
    first = next(
        (
            line
            for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ),
        "",
    )
    cells = tuple(c.strip().lower() for c in first.split(","))
    return cells == QUESTION_CSV_HEADER


def parse_question_csv(
    text: str, *, source_name: str = "<questions.csv>"
) -> list[QuestionTagRow]:
    """Parse ``activity_key,question,skill_key,level,difficulty`` rows; all or nothing.

    The header row is required (it tells this file from an activity-tagging one).
    An empty ``skill_key``, ``level`` or ``difficulty`` cell clears that tag, so the
    question falls back to its activity's.

    Raises:
        CatalogueError: every malformed row, with its line number.
    """
    issues: list[CatalogueIssue] = []
    rows: list[QuestionTagRow] = []
    first_line: dict[tuple[str, int], int] = {}
    header_seen = False
    for line, cells in csv_records(text, issues):
        if not header_seen:
            header_seen = True
            if tuple(c.lower() for c in cells) != QUESTION_CSV_HEADER:
                issues.append(
                    CatalogueIssue(
                        line,
                        "",
                        f"the header must be {','.join(QUESTION_CSV_HEADER)}",
                    )
                )
                break
            continue
        row = _row(cells, line, issues)
        if row is None:
            continue
        pair = (row.activity_key, row.question)
        if pair in first_line:
            issues.append(
                CatalogueIssue(
                    line,
                    "",
                    f"question {row.question} of {row.activity_key!r} is tagged "
                    f"again (first on line {first_line[pair]})",
                )
            )
            continue
        first_line[pair] = line
        rows.append(row)
    if not rows and not issues:
        issues.append(CatalogueIssue(1, "", "no question rows found"))
    if issues:
        raise CatalogueError(source_name, issues)
    return rows


def _row(
    cells: list[str], line: int, issues: list[CatalogueIssue]
) -> QuestionTagRow | None:
    if len(cells) != len(QUESTION_CSV_HEADER):
        issues.append(
            CatalogueIssue(
                line,
                "",
                f"expected 5 columns ({','.join(QUESTION_CSV_HEADER)}), "
                f"got {len(cells)}",
            )
        )
        return None
    activity, raw_question, skill, raw_level, raw_difficulty = cells
    before = len(issues)
    if not KEY_PATTERN.match(activity):
        issues.append(
            CatalogueIssue(line, "activity_key", f"{activity!r} is not a valid key")
        )
    if skill and not KEY_PATTERN.match(skill):
        issues.append(
            CatalogueIssue(line, "skill_key", f"{skill!r} is not a valid key")
        )
    question = _whole(raw_question, line, "question", issues, required=True)
    if question is not None and question < 0:
        issues.append(
            CatalogueIssue(line, "question", f"must be 0 or more, got {question}")
        )
    level = _whole(raw_level, line, "level", issues, required=False)
    difficulty: float | None = None
    if raw_difficulty:
        try:
            difficulty = float(raw_difficulty)
            if not math.isfinite(difficulty) or abs(difficulty) > MAX_DIFFICULTY:
                raise ValueError
        except ValueError:
            issues.append(
                CatalogueIssue(
                    line,
                    "difficulty",
                    f"must be a number from -{MAX_DIFFICULTY:g} to {MAX_DIFFICULTY:g}, "
                    f"got {raw_difficulty!r}",
                )
            )
    if len(issues) > before or question is None:
        return None
    return QuestionTagRow(line, activity, question, skill or None, level, difficulty)


def _whole(
    raw: str, line: int, name: str, issues: list[CatalogueIssue], *, required: bool
) -> int | None:
    if not raw and not required:
        return None
    try:
        return int(raw)
    except ValueError:
        issues.append(
            CatalogueIssue(line, name, f"must be a whole number, got {raw!r}")
        )
        return None


def check_question_tags(
    rows: Sequence[QuestionTagRow],
    *,
    source_name: str,
    questions_of: Mapping[str, int],
    skill_keys: set[str],
    max_level: int,
) -> None:
    """Check question rows against a framework: activities, question counts, scale.

    Args:
        questions_of: activity key -> how many questions it has.

    Raises:
        CatalogueError: unknown activities or skills, missing questions and
            out-of-scale levels, by line.
    """
    issues: list[CatalogueIssue] = []
    for row in rows:
        count = questions_of.get(row.activity_key)
        if count is None:
            issues.append(
                CatalogueIssue(
                    row.line, "activity_key", f"unknown activity {row.activity_key!r}"
                )
            )
        elif row.question >= count:
            issues.append(
                CatalogueIssue(
                    row.line,
                    "question",
                    f"{row.activity_key!r} has {count} question"
                    f"{'s' if count != 1 else ''} (0..{count - 1}); "
                    f"there is no question {row.question}",
                )
            )
        if row.skill_key is not None and row.skill_key not in skill_keys:
            issues.append(
                CatalogueIssue(
                    row.line, "skill_key", f"unknown skill {row.skill_key!r}"
                )
            )
        if row.level is not None and not 1 <= row.level <= max_level:
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
