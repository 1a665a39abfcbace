"""Pure xAPI core: building Pathwise's own statements (deterministic) and spotting them.

Statements are plain dicts shaped by xAPI 1.0.3; ``formats.serialize`` gives the one
canonical text that the outbox stores and PUTs, so a retry resends byte-identical
statements. Every statement built here passes ``validation.validate_statement``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from xapi.core import profile
from xapi.core.formats import format_timestamp, statement_uuid
from xapi.core.validation import validate_statement


@dataclass(frozen=True)
class ActivityRef:
    """An xAPI Activity: id (IRI), type (a profile.ACTIVITY_TYPES name or an IRI)."""

    id: str
    type: str = "activity"
    name: str = ""
    description: str = ""
    extensions: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self, language: str) -> dict[str, Any]:
        definition: dict[str, Any] = {
            "type": profile.ACTIVITY_TYPES.get(self.type, self.type)
        }
        if self.name:
            definition["name"] = {language: self.name}
        if self.description:
            definition["description"] = {language: self.description}
        if self.extensions:
            definition["extensions"] = dict(self.extensions)
        return {"objectType": "Activity", "id": self.id, "definition": definition}


@dataclass(frozen=True)
class ResultSpec:
    success: bool | None = None
    completion: bool | None = None
    score_scaled: float | None = None
    score_raw: float | None = None
    score_min: float | None = None
    score_max: float | None = None
    response: str | None = None
    duration_s: float | None = None
    extensions: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        if self.success is not None:
            result["success"] = self.success
        if self.completion is not None:
            result["completion"] = self.completion
        score: dict[str, Any] = {}
        if self.score_scaled is not None:
            score["scaled"] = round(float(self.score_scaled), 4)
        for name, value in (
            ("raw", self.score_raw),
            ("min", self.score_min),
            ("max", self.score_max),
        ):
            if value is not None:
                score[name] = value
        if score:
            result["score"] = score
        if self.response is not None:
            result["response"] = self.response
        if self.duration_s is not None:
            result["duration"] = format_duration(self.duration_s)
        if self.extensions:
            result["extensions"] = dict(self.extensions)
        return result


@dataclass(frozen=True)
class StatementSpec:
    """Everything one emitted statement says; ``key`` names the event (idempotency)."""

    key: str
    actor: Mapping[str, Any]
    verb: str
    object: ActivityRef
    timestamp: dt.datetime
    result: ResultSpec | None = None
    registration: str | None = None
    course: ActivityRef | None = None
    parent: ActivityRef | None = None
    language: str = "en-US"
    platform: str = "Pathwise"
    context_extensions: Mapping[str, Any] = field(default_factory=dict)


def format_duration(seconds: float) -> str:
    """ISO 8601 duration with centisecond precision (what xAPI LRSs keep)."""
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    total = round(seconds, 2)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    text = "PT"
    if hours:
        text += f"{int(hours)}H"
    if minutes:
        text += f"{int(minutes)}M"
    text += f"{secs:.2f}".rstrip("0").rstrip(".") + "S"
    return text


def build_statement(spec: StatementSpec) -> dict[str, Any]:
    """Build one statement of our profile; raises ValueError if it would be invalid."""
    if spec.verb not in profile.VERBS:
        raise ValueError(f"unknown Pathwise verb {spec.verb!r}")
    category = [
        {
            "objectType": "Activity",
            "id": profile.PROFILE_VERSION_IRI,
            "definition": {"type": "http://adlnet.gov/expapi/activities/profile"},
        }
    ]
    context_activities: dict[str, Any] = {"category": category}
    if spec.parent is not None and spec.parent.id != spec.object.id:
        context_activities["parent"] = [spec.parent.to_dict(spec.language)]
    if spec.course is not None:
        course = spec.course.to_dict(spec.language)
        if spec.parent is None or spec.parent.id == spec.object.id:
            context_activities["parent"] = [course]
        context_activities["grouping"] = [course]
    context: dict[str, Any] = {
        "contextActivities": context_activities,
        "platform": spec.platform,
        "language": spec.language,
    }
    if spec.registration is not None:
        context["registration"] = spec.registration
    if spec.context_extensions:
        context["extensions"] = dict(spec.context_extensions)
    statement: dict[str, Any] = {
        "id": statement_uuid(spec.key),
        "actor": dict(spec.actor),
        "verb": {
            "id": profile.VERBS[spec.verb],
            "display": {"en-US": profile.VERB_DISPLAY[spec.verb]},
        },
        "object": spec.object.to_dict(spec.language),
        "context": context,
        "timestamp": format_timestamp(spec.timestamp),
        "version": "1.0.3",
    }
    if spec.result is not None:
        result = spec.result.to_dict()
        if result:
            statement["result"] = result
    problems = validate_statement(statement)
    if problems:
        raise ValueError("invalid statement: " + "; ".join(problems))
    return statement


def is_own_statement(statement: Mapping[str, Any]) -> bool:
    """True for statements Pathwise emitted (our profile in the category)."""
    context = statement.get("context")
    if not isinstance(context, dict):
        return False
    activities = context.get("contextActivities")
    if not isinstance(activities, dict):
        return False
    category = activities.get("category")
    if isinstance(category, dict):
        category = [category]
    if not isinstance(category, list):
        return False
    return any(
        isinstance(item, dict)
        and str(item.get("id", "")).startswith(profile.PROFILE_IRI)
        for item in category
    )
