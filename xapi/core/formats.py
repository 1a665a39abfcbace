"""Pure xAPI core: shared value formats: deterministic ids, timestamps, canonical text.

Building, checking and reading statements all use these, so one instant or one event
key has exactly one spelling everywhere.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Mapping
from typing import Any

from xapi.core import profile

_NAMESPACE = uuid.UUID(profile.UUID_NAMESPACE)
UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)


def statement_uuid(key: str) -> str:
    """A deterministic statement id: the same event key always gives the same UUID."""
    return str(uuid.uuid5(_NAMESPACE, "statement:" + key))


def registration_uuid(
    tenant_id: int, person_id: int, module_id: int, attempt: int
) -> str:
    """The registration of one person's attempt at one module (stable on retry)."""
    return str(
        uuid.uuid5(
            _NAMESPACE, f"registration:{tenant_id}:{person_id}:{module_id}:{attempt}"
        )
    )


def format_timestamp(moment: dt.datetime) -> str:
    """UTC, millisecond precision, ``Z`` suffix: one spelling per instant."""
    if moment.tzinfo is None:
        raise ValueError("xAPI timestamps need a timezone-aware datetime")
    utc = moment.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_timestamp(value: Any) -> dt.datetime | None:
    """Parse an ISO 8601 timestamp with an offset; None when it is not one.

    Every statement's ``stored`` passes here during a sync: the common spellings go
    straight to ``fromisoformat`` (about ten times faster than the normalising
    path), the rest (spaces, over-long fractions Python refuses) are normalised.
    """
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return _parse_normalised(value)
    if moment.tzinfo is None:
        return None
    return moment if moment.tzinfo is dt.UTC else moment.astimezone(dt.UTC)


def _parse_normalised(value: str) -> dt.datetime | None:
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Python accepts at most 6 fractional digits; some LRSs send 7 or 9.
    dot = text.find(".")
    if dot != -1:
        end = dot + 1
        while end < len(text) and text[end].isdigit():
            end += 1
        if end - dot - 1 > 6:
            text = text[: dot + 7] + text[end:]
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(dt.UTC)


def serialize(statement: Mapping[str, Any]) -> str:
    """The canonical JSON text of a statement (sorted keys, compact, UTF-8)."""
    return json.dumps(
        statement, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
