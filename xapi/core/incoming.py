"""Pure xAPI core: judging LRS statements strictly (xAPI 1.0.x and 2.0) on the way in.

Unknown fields and xAPI 2.0 additions (``contextAgents``, ``contextGroups``) are
read normally; a statement whose values are wrong (an impossible date, a score out
of range, a verb that is not an IRI, an actor with no or two identifiers ...) is
refused with a reason code, so it is quarantined instead of becoming wrong
evidence or being ignored as someone unknown.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from xapi.core import profile
from xapi.core.actors import actor_key
from xapi.core.formats import UUID_RE, parse_timestamp
from xapi.core.validation import is_duration, is_iri, is_sha1

_VERSION_RE = re.compile(r"^(?:1\.0|2\.0)(?:\.\d+)?$")
# ISO 8601 date-times, extended and basic (xAPI 1.0.3 accepts both).
_ISO_RE = re.compile(
    r"^(?:\d{4}-\d{2}-\d{2}T\d{2}(?::\d{2}(?::\d{2}(?:\.\d+)?)?)?"
    r"|\d{8}T\d{2}(?:\d{2}(?:\d{2}(?:\.\d+)?)?)?)"
    r"(?:[Zz]|[+-]\d{2}(?::?\d{2})?)?$"
)
# RFC 3339 date-time, offset required (xAPI 2.0).
_RFC3339_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$"
)
_ADDRESS_RE = re.compile(
    r'^[^@\s<>(),;:"\[\]]+@[0-9A-Za-z\u00a1-\uffff]'
    r"(?:[0-9A-Za-z\u00a1-\uffff.-]*[0-9A-Za-z\u00a1-\uffff])?$"
)
_IFIS = ("mbox", "mbox_sha1sum", "openid", "account")
_COMMON_VERSIONS = frozenset(("1.0.0", "1.0.1", "1.0.2", "1.0.3", "2.0.0"))
# Verb ids and account home pages repeat on nearly every statement: remember the
# ones already judged (bounded, so a hostile LRS cannot grow it without limit).
_IRIS_SEEN: dict[str, bool] = {}
_IRIS_SEEN_MAX = 4096


def _iri(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    known = _IRIS_SEEN.get(value)
    if known is None:
        known = is_iri(value)
        if len(_IRIS_SEEN) < _IRIS_SEEN_MAX:
            _IRIS_SEEN[value] = known
    return known


@dataclass(frozen=True, slots=True)
class Incoming:
    """The parts of an LRS statement the sync needs, after judging it."""

    id: str
    stored: dt.datetime
    actor_key: str | None
    verb: str
    object_id: str
    object_type: str | None
    voids: str | None
    raw: Mapping[str, Any]
    # ``timestamp`` in UTC; None only when the statement has none (then ``stored``).
    occurred: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a statement is quarantined: a short code (counted) and a sentence."""

    code: str
    reason: str


def read_incoming(statement: Any) -> Incoming | Refusal:
    """Judge one statement from an LRS page: what the sync needs, or why it refuses.

    Returns:
        ``Incoming`` for a statement that can be used (whatever it matches later),
        ``Refusal`` for one to quarantine; it never raises.
    """
    if not isinstance(statement, dict):
        return Refusal("not_object", "not a JSON object")
    sid = statement.get("id")
    if not isinstance(sid, str) or not UUID_RE.match(sid):
        return Refusal("bad_id", "missing or invalid id")
    stored = parse_timestamp(statement.get("stored"))
    if stored is None:
        return Refusal("bad_stored", "missing or invalid stored timestamp")
    version = statement.get("version")
    if (
        version is not None
        and version not in _COMMON_VERSIONS
        and not (isinstance(version, str) and _VERSION_RE.match(version))
    ):
        return Refusal("bad_version", f"unsupported version {str(version)[:20]!r}")
    occurred: dt.datetime | None = None
    if "timestamp" in statement:
        occurred = read_timestamp(
            statement["timestamp"], v2=isinstance(version, str) and version[0] == "2"
        )
        if occurred is None:
            return Refusal("bad_timestamp", "timestamp is not a valid date-time")
    verb = statement.get("verb")
    verb_id = verb.get("id") if isinstance(verb, dict) else None
    if not isinstance(verb_id, str) or not verb_id:
        return Refusal("missing_verb", "missing verb id")
    if not _iri(verb_id):
        return Refusal("bad_verb", "verb id is not an IRI")
    target = statement.get("object")
    if not isinstance(target, dict):
        return Refusal("missing_object", "missing object")
    object_id = target.get("id")
    if not isinstance(object_id, str) or not object_id:
        return Refusal("missing_object_id", "missing object id")
    if "actor" not in statement:
        return Refusal("missing_actor", "missing actor")
    refusal = judge_actor(statement["actor"]) or judge_result(statement.get("result"))
    if refusal is not None:
        return refusal
    voids = None
    if verb_id == profile.VERB_VOIDED:
        if target.get("objectType") != "StatementRef":
            return Refusal(
                "bad_voiding", "voiding statement whose object is not a StatementRef"
            )
        voids = object_id.lower()
    definition = target.get("definition")
    object_type = definition.get("type") if isinstance(definition, dict) else None
    return Incoming(
        id=sid.lower(),
        stored=stored,
        actor_key=actor_key(statement["actor"]),
        verb=verb_id,
        object_id=object_id,
        object_type=object_type if isinstance(object_type, str) else None,
        voids=voids,
        raw=statement,
        occurred=occurred,
    )


def read_timestamp(value: Any, *, v2: bool) -> dt.datetime | None:
    """A statement's ``timestamp`` in UTC, or None when it is not a valid one.

    Any offset is converted to UTC. xAPI 2.0 requires RFC 3339 (an offset is
    mandatory); 1.0.x takes ISO 8601 extended or basic, and a time without an
    offset is read as UTC. ``-00:00`` (an unknown offset) and impossible dates
    (``2025-02-30``) are refused.
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not (_RFC3339_RE if v2 else _ISO_RE).match(text) or text.endswith("-00:00"):
        return None
    if text[-1] in "Zz":
        text = text[:-1] + "+00:00"
    dot = text.find(".")
    if dot != -1:
        # Python reads at most 6 fractional digits; LRSs may send 7 or 9.
        end = dot + 1
        while end < len(text) and text[end].isdigit():
            end += 1
        text = text[: min(end, dot + 7)] + text[end:]
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def judge_actor(actor: Any) -> Refusal | None:
    """An actor must be an Agent or Group with exactly one well-formed identifier
    (an anonymous Group, identified by its members, has none)."""
    if not isinstance(actor, dict):
        return Refusal("bad_actor", "actor is not an object")
    kind = actor.get("objectType", "Agent")
    if kind not in ("Agent", "Group"):
        return Refusal("bad_actor", "actor objectType must be Agent or Group")
    account = actor.get("account")
    if (
        # The usual case first, without building the list of identifiers below:
        # an LMS account and no other identifier.
        kind == "Agent"
        and isinstance(account, dict)
        and "mbox" not in actor
        and "mbox_sha1sum" not in actor
        and "openid" not in actor
        and _iri(account.get("homePage"))
        and isinstance(account.get("name"), str)
        and account["name"]
    ):
        return None
    present = [key for key in _IFIS if key in actor]
    if not present and kind == "Group":
        members = actor.get("member")
        if isinstance(members, list) and members:
            return None
        return Refusal("actor_ifi_count", "anonymous Group without members")
    if len(present) != 1:
        return Refusal(
            "actor_ifi_count",
            f"actor has {len(present)} identifiers; it needs exactly one of "
            "mbox, mbox_sha1sum, openid, account",
        )
    key = present[0]
    value = actor[key]
    if key == "mbox":
        if not (
            isinstance(value, str)
            and value.startswith("mailto:")
            and _ADDRESS_RE.match(value[len("mailto:") :])
        ):
            return Refusal("bad_mbox", "actor mbox is not a mailto: address")
    elif key == "mbox_sha1sum":
        if not is_sha1(value):
            return Refusal("bad_mbox_sha1sum", "actor mbox_sha1sum is not 40 hex")
    elif key == "openid":
        if not is_iri(value):
            return Refusal("bad_openid", "actor openid is not a URI")
    elif not (
        isinstance(value, dict)
        and _iri(value.get("homePage"))
        and isinstance(value.get("name"), str)
        and value["name"]
    ):
        return Refusal("bad_account", "actor account needs homePage (IRL) and name")
    return None


def judge_result(result: Any) -> Refusal | None:
    """A result's score must be in range and its duration ISO 8601; never clipped."""
    if result is None:
        return None
    if not isinstance(result, dict):
        return Refusal("bad_result", "result is not an object")
    if "duration" in result and not is_duration(result["duration"]):
        return Refusal("bad_duration", "result.duration is not an ISO 8601 duration")
    score = result.get("score")
    if score is None:
        return None
    if not isinstance(score, dict):
        return Refusal("bad_score", "result.score is not an object")
    numbers: dict[str, float] = {}
    for key in ("scaled", "raw", "min", "max"):
        if key not in score:
            continue
        value = score[key]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            return Refusal("bad_score", f"result.score.{key} is not a number")
        numbers[key] = float(value)
    scaled = numbers.get("scaled")
    if scaled is not None and not -1.0 <= scaled <= 1.0:
        return Refusal("score_scaled_range", "result.score.scaled is outside [-1, 1]")
    low, high, raw = numbers.get("min"), numbers.get("max"), numbers.get("raw")
    if low is not None and high is not None and low >= high:
        return Refusal("score_min_max", "result.score.min is not below max")
    if raw is not None and (
        (low is not None and raw < low) or (high is not None and raw > high)
    ):
        return Refusal("score_raw_range", "result.score.raw is outside [min, max]")
    return None
