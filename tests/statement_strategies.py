"""Hypothesis strategies for incoming xAPI statements: valid ones (1.0.3 and 2.0,
any offset, any identifier) and malformed ones, each with the reason code the
judging must give it. Shared by the unit and integration property tests."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
from typing import Any

from hypothesis import strategies as st

ISSUER = "https://lms.example.edu"
VERBS = ("passed", "failed", "completed", "scored")


def _stamp(moment: dt.datetime, offset_minutes: int, *, basic: bool) -> str:
    zone = dt.timezone(dt.timedelta(minutes=offset_minutes))
    local = moment.astimezone(zone)
    if basic:
        text = local.strftime("%Y%m%dT%H%M%S")
        sign = "+" if offset_minutes >= 0 else "-"
        hours, minutes = divmod(abs(offset_minutes), 60)
        return text + f"{sign}{hours:02d}{minutes:02d}"
    return local.isoformat(timespec="milliseconds").replace("+00:00", "Z")


instants = st.datetimes(
    min_value=dt.datetime(2000, 1, 1),  # noqa: DTZ001 - made aware below
    max_value=dt.datetime(2099, 12, 31),  # noqa: DTZ001
).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000, tzinfo=dt.UTC))
offsets = st.integers(min_value=-14 * 60 + 1, max_value=14 * 60)


@st.composite
def actors(draw: st.DrawFn, sub: str = "u0") -> dict[str, Any]:
    email = f"{sub}@example.com"
    kind = draw(st.sampled_from(("account", "mbox", "sha1", "openid")))
    actor: dict[str, Any] = {"objectType": "Agent", "name": sub}
    if kind == "account":
        actor["account"] = {"homePage": ISSUER, "name": sub}
    elif kind == "mbox":
        actor["mbox"] = "mailto:" + email
    elif kind == "sha1":
        actor["mbox_sha1sum"] = hashlib.sha1(  # noqa: S324 - xAPI IFI
            ("mailto:" + email).encode()
        ).hexdigest()
    else:
        actor["openid"] = f"https://id.example.com/{sub}"
    return actor


@st.composite
def scores(draw: st.DrawFn) -> dict[str, Any]:
    score: dict[str, Any] = {}
    if draw(st.booleans()):
        score["scaled"] = draw(st.floats(min_value=-1.0, max_value=1.0))
    if draw(st.booleans()):
        low = draw(st.integers(min_value=-100, max_value=100))
        high = low + draw(st.integers(min_value=1, max_value=100))
        score.update(min=low, max=high, raw=draw(st.integers(low, high)))
    return score


@st.composite
def valid_statements(draw: st.DrawFn, sub: str = "u0") -> dict[str, Any]:
    """A statement a strict LRS would store (1.0.3 or 2.0.0), with ``stored``."""
    version = draw(st.sampled_from((None, "1.0.3", "2.0.0")))
    verb = draw(st.sampled_from(VERBS))
    statement: dict[str, Any] = {
        "id": str(draw(st.uuids())),
        "actor": draw(actors(sub)),
        "verb": {"id": f"http://adlnet.gov/expapi/verbs/{verb}"},
        "object": {
            "objectType": "Activity",
            "id": "https://courses.example.com/sql-course",
            "definition": {"type": "http://adlnet.gov/expapi/activities/course"},
        },
        "stored": _stamp(draw(instants), 0, basic=False),
    }
    if version is not None:
        statement["version"] = version
    if draw(st.booleans()):
        basic = version != "2.0.0" and draw(st.booleans())
        statement["timestamp"] = _stamp(draw(instants), draw(offsets), basic=basic)
    result: dict[str, Any] = {}
    if draw(st.booleans()):
        result["score"] = draw(scores())
    if draw(st.booleans()):
        result["duration"] = draw(st.sampled_from(("PT1M30S", "P3D", "PT0.5S")))
    if result:
        statement["result"] = result
    if version == "2.0.0" and draw(st.booleans()):
        statement["context"] = {
            "contextAgents": [
                {"objectType": "contextAgent", "agent": {"mbox": "mailto:m@x.org"}}
            ],
            "contextGroups": [
                {"objectType": "contextGroup", "group": {"mbox": "mailto:g@x.org"}}
            ],
        }
    return statement


def _set(path: tuple[str, ...], value: Any) -> Any:
    def apply(statement: dict[str, Any]) -> None:
        holder = statement
        for key in path[:-1]:
            holder = holder.setdefault(key, {})
        holder[path[-1]] = value

    return apply


def _drop_ifis(statement: dict[str, Any]) -> None:
    statement["actor"] = {"objectType": "Agent", "name": "nobody"}


def _two_ifis(statement: dict[str, Any]) -> None:
    statement["actor"] = {
        "objectType": "Agent",
        "mbox": "mailto:a@example.com",
        "account": {"homePage": ISSUER, "name": "a"},
    }


def _naive_v2(statement: dict[str, Any]) -> None:
    statement["version"] = "2.0.0"
    statement["timestamp"] = "2026-03-01T10:00:00"


# (reason code, corruption): each makes a valid statement malformed in one way.
CORRUPTIONS: list[tuple[str, Any]] = [
    ("bad_timestamp", _set(("timestamp",), "2025-02-30T10:00:00Z")),
    ("bad_timestamp", _set(("timestamp",), "2025-13-01T10:00:00Z")),
    ("bad_timestamp", _set(("timestamp",), "2025-01-01T24:30:00Z")),
    ("bad_timestamp", _set(("timestamp",), "2025-01-01T10:00:00-00:00")),
    ("bad_timestamp", _set(("timestamp",), "yesterday")),
    ("bad_timestamp", _set(("timestamp",), 1700000000)),
    ("bad_timestamp", _naive_v2),
    ("bad_version", _set(("version",), "3.0.0")),
    ("bad_id", _set(("id",), "not-a-uuid")),
    ("bad_stored", _set(("stored",), "2025-02-30T10:00:00Z")),
    ("bad_verb", _set(("verb", "id"), "passed")),
    ("bad_verb", _set(("verb", "id"), "http //adlnet.gov/verbs/passed")),
    ("bad_mbox", _set(("actor",), {"mbox": "u0@example.com"})),
    ("bad_mbox", _set(("actor",), {"mbox": "mailto:nobody"})),
    ("bad_mbox", _set(("actor",), {"mbox": "mailto:a@@example.com"})),
    ("bad_mbox_sha1sum", _set(("actor",), {"mbox_sha1sum": "xyz"})),
    ("bad_account", _set(("actor",), {"account": {"name": "u0"}})),
    ("actor_ifi_count", _drop_ifis),
    ("actor_ifi_count", _two_ifis),
    ("bad_duration", _set(("result", "duration"), "1 hour")),
    ("bad_duration", _set(("result", "duration"), "PT")),
    ("bad_score", _set(("result", "score"), {"scaled": "0.5"})),
    ("bad_score", _set(("result", "score"), {"scaled": True})),
]


@st.composite
def malformed_statements(draw: st.DrawFn, sub: str = "u0") -> tuple[str, Any]:
    """(expected reason code, statement) for a statement broken in one way."""
    statement = copy.deepcopy(draw(valid_statements(sub)))
    choice = draw(st.integers(min_value=0, max_value=len(CORRUPTIONS) + 3))
    if choice < len(CORRUPTIONS):
        code, corrupt = CORRUPTIONS[choice]
        corrupt(statement)
        return code, statement
    score = statement.setdefault("result", {}).setdefault("score", {})
    score.clear()
    if choice == len(CORRUPTIONS):
        # Out of range on either side, never clipped.
        magnitude = draw(st.floats(min_value=1.0, max_value=1e9, exclude_min=True))
        score["scaled"] = magnitude * draw(st.sampled_from((1, -1)))
        return "score_scaled_range", statement
    low = draw(st.integers(min_value=-100, max_value=100))
    high = low + draw(st.integers(min_value=1, max_value=100))
    if choice == len(CORRUPTIONS) + 1:
        score.update(min=low, max=high, raw=high + draw(st.integers(1, 50)))
        return "score_raw_range", statement
    if choice == len(CORRUPTIONS) + 2:
        score.update(min=low, max=high, raw=low - draw(st.integers(1, 50)))
        return "score_raw_range", statement
    score.update(min=high, max=draw(st.integers(low - 50, high)))
    return "score_min_max", statement
