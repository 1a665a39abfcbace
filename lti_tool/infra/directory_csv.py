"""Shared infrastructure: read a people CSV into checked rows, naming bad lines.

The import (``directory_import``) matches and writes rows; this module only turns the
file's text into rows, with every error a line number, so a bad upload (a binary
file, a cell over csv's limit, a value over its column) is a report and not a crash.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from lti_tool.infra.directory import account_value, normalise_email
from lti_tool.infra.models import Person

COLUMNS = (
    "external_id",
    "name",
    "email",
    "lms_sub",
    "department",
    "manager",
    "job_role",
    "accounts",
)
# Several emails or accounts share one cell, separated by this.
LIST_SEPARATOR = ";"
MAX_ERRORS = 200
# ``person_identities.value`` holds ``homePage|name`` in 700 characters.
ACCOUNT_MAX_CHARS = 700
_LIMITS = {
    "external_id": 255,
    "name": 300,
    "lms_sub": 255,
    "department": 200,
    "job_role": 200,
}


@dataclass
class CsvRow:
    """One data row as the file gives it; ``person`` is set when matched."""

    line: int
    external_id: str
    name: str
    emails: list[str]
    sub: str
    department: str
    manager: str
    job_role: str
    accounts: list[str]
    person: Person | None = None


def _split(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(LIST_SEPARATOR) if part.strip()]


def parse_people_csv(text: str, errors: list[str]) -> list[CsvRow]:
    """The file's rows; each problem is appended to ``errors`` by line."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    if not header:
        errors.append("line 1: the file is empty (expected a header row)")
        return []
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        errors.append(
            f"line 1: unknown column(s) {', '.join(unknown)}; "
            f"the columns are {', '.join(COLUMNS)}"
        )
    if not {"external_id", "email", "lms_sub"} & set(header):
        errors.append("line 1: a column external_id, email or lms_sub is required")
    if errors:
        return []
    reader.fieldnames = header
    rows: list[CsvRow] = []
    try:
        for raw in reader:
            row = _parse_row(reader.line_num, raw, errors)
            if row is not None:
                rows.append(row)
    except csv.Error as exc:
        # A cell over csv's field limit (128 KiB) or broken quoting: not a people file.
        # ``line_num`` counts the lines read before the record that failed.
        errors.append(f"line {reader.line_num + 1}: not readable as CSV ({exc})")
    return rows


def _parse_row(
    line: int, raw: dict[str, str | None], errors: list[str]
) -> CsvRow | None:
    """One data row checked cell by cell (None for a blank or a ragged row)."""
    if None in raw:
        errors.append(f"line {line}: more cells than columns")
        return None
    cells = {k: (v or "").strip() for k, v in raw.items()}
    if not any(cells.values()):
        return None
    if any("\x00" in v for v in cells.values()):
        # PostgreSQL text cannot hold NUL; a binary file is not a people list.
        errors.append(f"line {line}: a cell holds a NUL character")
        return None
    row = CsvRow(
        line=line,
        external_id=cells.get("external_id", ""),
        name=cells.get("name", ""),
        emails=[],
        sub=cells.get("lms_sub", ""),
        department=cells.get("department", ""),
        manager=cells.get("manager", ""),
        job_role=cells.get("job_role", ""),
        accounts=[],
    )
    for column, limit in _LIMITS.items():
        if len(cells.get(column, "")) > limit:
            errors.append(f"line {line}: {column} is over {limit} characters")
    for text_email in _split(cells.get("email", "")):
        email = normalise_email(text_email)
        if email is None or len(email) > 320:
            errors.append(f"line {line}: {text_email!r} is not an email address")
        elif email not in row.emails:
            row.emails.append(email)
    for account in _split(cells.get("accounts", "")):
        home, sep, name = account.partition("|")
        if not sep or not home.strip() or not name.strip():
            errors.append(f"line {line}: account {account!r} is not homePage|name")
        elif "://" not in home:
            errors.append(f"line {line}: account homePage {home!r} is not a URL")
        elif len(account_value(home, name)) > ACCOUNT_MAX_CHARS:
            errors.append(
                f"line {line}: an account is over {ACCOUNT_MAX_CHARS} characters"
            )
        else:
            row.accounts.append(account_value(home, name))
    if not (row.external_id or row.emails or row.sub):
        errors.append(f"line {line}: give an external_id, an email or an lms_sub")
    return row
