"""xAPI: writing evidence rows, voidings and quarantine to the database (INSERT, COPY).

The evidence table is adaptive's: its table and column names come from
``adaptive.models.Evidence``, so the hand-built COPY statements follow the model.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Connection, Table, update
from sqlalchemy.orm import Session

from adaptive.models import Evidence
from lti_tool.infra.db import insert_skipping_duplicates, utcnow
from xapi.models import QuarantinedStatement, VoidedStatement

_EVIDENCE: Table = cast(Table, Evidence.__table__)
# The columns of one evidence row, in the order of its tuple (a renamed column fails
# here, at import, rather than in the middle of a sync).
EVIDENCE_COLUMNS: tuple[str, ...] = tuple(
    column.name
    for column in (
        _EVIDENCE.c.tenant_id,
        _EVIDENCE.c.person_id,
        _EVIDENCE.c.skill_id,
        _EVIDENCE.c.outcome,
        _EVIDENCE.c.weight,
        _EVIDENCE.c.level,
        _EVIDENCE.c.source,
        _EVIDENCE.c.activity_id,
        _EVIDENCE.c.statement_id,
        _EVIDENCE.c.rule_key,
        _EVIDENCE.c.occurred_at,
        _EVIDENCE.c.voided,
        _EVIDENCE.c.created_at,
    )
)
# The evidence table's unique key: a statement is evidence once per skill.
_EVIDENCE_KEY = ", ".join(
    column.name
    for column in (
        _EVIDENCE.c.tenant_id,
        _EVIDENCE.c.statement_id,
        _EVIDENCE.c.skill_id,
    )
)
# One evidence row, its values in EVIDENCE_COLUMNS order (tuples: no dict per row).
EvidenceRow = tuple[Any, ...]

# The COPY fast path's statements, built once from the model's names.
_STAGE = "xapi_evidence_stage"
_COLUMN_LIST = ", ".join(EVIDENCE_COLUMNS)
_CREATE_STAGE = (
    f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} "
    f"(LIKE {_EVIDENCE.name} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
)
_COPY_STAGE = f"COPY {_STAGE} ({_COLUMN_LIST}) FROM STDIN"
_MOVE_STAGE = (
    f"INSERT INTO {_EVIDENCE.name} ({_COLUMN_LIST}) "  # noqa: S608 - the model's names
    f"SELECT {_COLUMN_LIST} FROM {_STAGE} "
    f"ON CONFLICT ({_EVIDENCE_KEY}) DO NOTHING"
)
_TRUNCATE_STAGE = f"TRUNCATE {_STAGE}"


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_str(value: str | None) -> str:
    return "\\N" if value is None else value.translate(_COPY_ESCAPES)


def copy_text(rows: Sequence[EvidenceRow]) -> bytes:
    """Evidence rows as the body of a ``COPY ... FROM STDIN`` (text format).

    Formatted by the thread that prepared them, so the writer sends one buffer
    instead of taking the interpreter lock back for every row. Rows of one
    statement share their text tail (statement id, rule, times).
    """
    null = "\\N"
    lines: list[str] = []
    tail_key: tuple[Any, ...] = ()
    head = tail = ""
    created_at: dt.datetime | None = None
    created = ""
    for (
        tenant_id,
        person_id,
        skill_id,
        outcome,
        weight,
        level,
        source,
        activity_id,
        statement_id,
        rule_key,
        occurred_at,
        voided,
        created_now,
    ) in rows:
        if created_now is not created_at:
            created_at = created_now
            created = created_now.isoformat()
            tail_key = ()
        key = (statement_id, rule_key, occurred_at, voided, source)
        if key != tail_key:
            tail_key = key
            head = _copy_str(source)
            tail = (
                f"{_copy_str(statement_id)}\t{_copy_str(rule_key)}\t"
                f"{occurred_at.isoformat()}\t{'t' if voided else 'f'}\t{created}\n"
            )
        lines.append(
            f"{int(tenant_id)}\t{int(person_id)}\t{int(skill_id)}\t"
            f"{float(outcome)!r}\t{float(weight)!r}\t"
            f"{null if level is None else int(level)}\t{head}\t"
            f"{null if activity_id is None else int(activity_id)}\t{tail}"
        )
    return "".join(lines).encode("utf-8")


def insert_evidence_rows(
    connection: Connection, rows: Sequence[EvidenceRow], text: bytes | None = None
) -> int:
    """Insert evidence rows, skipping ones already there; returns how many were new.

    On Postgres the rows are streamed with COPY into a temporary table and moved with
    one INSERT ... ON CONFLICT DO NOTHING: several times faster than multi-row
    INSERTs (whose huge statements the driver re-parses every time). ``text`` is
    the rows already formatted by ``copy_text``.
    """
    if not rows:
        return 0
    if connection.dialect.name != "postgresql":
        result = connection.execute(
            insert_skipping_duplicates(connection, _EVIDENCE).returning(_EVIDENCE.c.id),
            [dict(zip(EVIDENCE_COLUMNS, row, strict=True)) for row in rows],
        )
        return len(result.all())
    driver = connection.connection.driver_connection
    if driver is None:
        raise RuntimeError("no database connection for COPY")
    with driver.cursor() as cursor:
        cursor.execute(_CREATE_STAGE)
        with cursor.copy(_COPY_STAGE) as copy:
            if text is not None:
                copy.write(text)
            else:
                write = copy.write_row
                for row in rows:
                    write(row)
        cursor.execute(_MOVE_STAGE)
        inserted = cursor.rowcount
        cursor.execute(_TRUNCATE_STAGE)
    return max(0, int(inserted))


@dataclass
class EvidenceBatch:
    """One page's writes, applied in this order: evidence rows, voidings, quarantine.

    ``unmatched`` (unknown actors: count, first and last ``stored``) is recorded
    only once the batch is committed, so a crash cannot count a page twice.
    """

    rows: list[EvidenceRow] = field(default_factory=list)
    voids: list[tuple[str, str]] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    unmatched: dict[str, list[Any]] = field(default_factory=dict)
    copy_text: bytes | None = None
    # Rows split for parallel writers, each part with its COPY text.
    parts: list[tuple[list[EvidenceRow], bytes]] = field(default_factory=list)


def write_batch(
    connection: Session | Connection, tenant_id: int, batch: EvidenceBatch
) -> Counter[str]:
    """Apply one page's writes; returns evidence counters.

    Given a session, the voiding UPDATE also refreshes evidence it has loaded.
    """
    counters: Counter[str] = Counter()
    if batch.rows:
        raw = connection.connection() if isinstance(connection, Session) else connection
        counters["evidence"] += insert_evidence_rows(raw, batch.rows, batch.copy_text)
    if batch.voids:
        now = utcnow()
        connection.execute(
            insert_skipping_duplicates(connection, VoidedStatement),
            [
                {
                    "tenant_id": tenant_id,
                    "statement_id": target,
                    "voided_by": by,
                    "voided_at": now,
                }
                for target, by in batch.voids
            ],
        )
        result = connection.execute(
            update(Evidence)
            .where(
                Evidence.tenant_id == tenant_id,
                Evidence.statement_id.in_([target for target, _ in batch.voids]),
                Evidence.voided.is_(False),
            )
            .values(voided=True)
        )
        counters["voided_evidence"] += int(getattr(result, "rowcount", 0) or 0)
    if batch.quarantine:
        connection.execute(
            insert_skipping_duplicates(connection, QuarantinedStatement),
            batch.quarantine,
        )
    return counters
