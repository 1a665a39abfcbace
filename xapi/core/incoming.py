"""Pure xAPI core: reading LRS statements leniently (any version, extra fields ignored).

The sync needs only a few parts of each statement; anything without them is
malformed and quarantined, everything else is read without judging it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from xapi.core import profile
from xapi.core.actors import actor_key
from xapi.core.formats import UUID_RE, parse_timestamp


@dataclass(frozen=True, slots=True)
class Incoming:
    """The parts of an LRS statement the sync needs, read leniently."""

    id: str
    stored: dt.datetime
    actor_key: str | None
    verb: str
    object_id: str
    object_type: str | None
    voids: str | None
    raw: Mapping[str, Any]


def read_incoming(statement: Any) -> Incoming | str:
    """Read one statement from an LRS page; return the reason string when malformed.

    Unknown fields and xAPI 2.0 additions are ignored; only what the sync cannot do
    without (id, stored, verb id, object id) makes a statement malformed.
    """
    if not isinstance(statement, dict):
        return "not a JSON object"
    sid = statement.get("id")
    if not isinstance(sid, str) or not UUID_RE.match(sid):
        return "missing or invalid id"
    stored = parse_timestamp(statement.get("stored"))
    if stored is None:
        return "missing or invalid stored timestamp"
    verb = statement.get("verb")
    verb_id = verb.get("id") if isinstance(verb, dict) else None
    if not isinstance(verb_id, str) or not verb_id:
        return "missing verb id"
    target = statement.get("object")
    if not isinstance(target, dict):
        return "missing object"
    object_id = target.get("id")
    if not isinstance(object_id, str) or not object_id:
        return "missing object id"
    if "actor" not in statement:
        return "missing actor"
    voids = None
    if verb_id == profile.VERB_VOIDED:
        if target.get("objectType") != "StatementRef":
            return "voiding statement whose object is not a StatementRef"
        voids = object_id.lower()
    definition = target.get("definition")
    object_type = definition.get("type") if isinstance(definition, dict) else None
    return Incoming(
        id=sid.lower(),
        stored=stored,
        actor_key=actor_key(statement.get("actor")),
        verb=verb_id,
        object_id=object_id,
        object_type=object_type if isinstance(object_type, str) else None,
        voids=voids,
        raw=statement,
    )
