"""Pure: reading a catalogue CSV's records with the line each starts on.

The activity-tag and question-tag CSVs share these reading rules (blank lines and
``#`` lines skipped, cells trimmed, a CSV syntax error reported with its line), so
their line numbers and errors read the same.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from adaptive.core.catalogue_format import CatalogueIssue


def csv_records(
    text: str, issues: list[CatalogueIssue]
) -> Iterator[tuple[int, list[str]]]:
    """Each non-blank, non-comment record as (first line, trimmed cells).

    A quoted cell may span lines, so a record's line is where it starts. A syntax
    error ends the reading and is added to ``issues``.
    """
    reader = csv.reader(io.StringIO(text))
    previous_end = 0
    try:
        for record in reader:
            line = previous_end + 1
            previous_end = reader.line_num
            cells = [c.strip() for c in record]
            if not any(cells) or cells[0].startswith("#"):
                continue
            yield line, cells
    except csv.Error as exc:
        issues.append(CatalogueIssue(reader.line_num or 1, "", f"invalid CSV: {exc}"))
