"""Pure adaptive core: the activity-tagging CSV, read and checked against a framework.

Authors tag activities with skills in a spreadsheet; the rows are parsed all or
nothing here, then checked against the framework's keys and scale before anything
is stored.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from adaptive.core.catalogue_csv import csv_records
from adaptive.core.catalogue_format import (
    KEY_PATTERN,
    CatalogueError,
    CatalogueIssue,
    TagRow,
)

TAG_CSV_HEADER = ("activity_key", "skill_key", "weight", "level")


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
    for line, cells in csv_records(text, issues):
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
