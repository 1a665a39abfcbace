"""Pure xAPI statements: build ours (deterministically), validate, read incoming ones.

Statements are plain dicts shaped by xAPI 1.0.3; ``serialize`` gives the one canonical
text that the outbox stores and PUTs, so a retry resends byte-identical statements.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

from xapi.core import profile

ActorMode = Literal["account", "mbox"]
ACTOR_MODES: tuple[ActorMode, ...] = ("account", "mbox")

_NAMESPACE = uuid.UUID(profile.UUID_NAMESPACE)
_UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_IRI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:\S+$")
_SHA1_RE = re.compile(r"^[0-9a-f]{40}$")
_DURATION_RE = re.compile(
    r"^P(?:\d+(?:\.\d+)?Y)?(?:\d+(?:\.\d+)?M)?(?:\d+(?:\.\d+)?W)?(?:\d+(?:\.\d+)?D)?"
    r"(?:T(?:\d+(?:\.\d+)?H)?(?:\d+(?:\.\d+)?M)?(?:\d+(?:\.\d+)?S)?)?$"
)
_LANG_RE = re.compile(r"^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$")


# ---------------------------------------------------------------------------
# Identifiers and time


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
    """Parse an ISO 8601 timestamp with an offset; None when it is not one."""
    if not isinstance(value, str) or len(value) < 10:
        return None
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


# ---------------------------------------------------------------------------
# Actors


@dataclass(frozen=True)
class Identity:
    """A learner on the LTI side: issuer, deployment, ``sub`` (plus email, name)."""

    issuer: str
    deployment_id: str
    sub: str
    email: str | None = None
    name: str = ""


def account_home_page(
    issuer: str,
    deployment_id: str,
    *,
    include_deployment: bool = False,
    override: str | None = None,
) -> str:
    """The ``account.homePage`` for an LTI identity.

    Default: the issuer. When one issuer serves several tenants (Canvas cloud), the
    deployment is appended as a path segment so the same ``sub`` cannot collide.
    """
    if override:
        return override
    if not include_deployment:
        return issuer
    return f"{issuer.rstrip('/')}/deployments/{quote(deployment_id, safe='')}"


def build_actor(
    identity: Identity,
    *,
    mode: ActorMode = "account",
    include_deployment: bool = False,
    home_page: str | None = None,
) -> dict[str, Any]:
    """The xAPI Agent for a learner; mbox mode falls back to account sans email."""
    actor: dict[str, Any] = {"objectType": "Agent"}
    if identity.name:
        actor["name"] = identity.name
    if mode == "mbox" and identity.email:
        actor["mbox"] = "mailto:" + identity.email.strip().lower()
        return actor
    actor["account"] = {
        "homePage": account_home_page(
            identity.issuer,
            identity.deployment_id,
            include_deployment=include_deployment,
            override=home_page,
        ),
        "name": identity.sub,
    }
    return actor


def actor_key(actor: Any) -> str | None:
    """A stable lookup key for an incoming statement's actor, or None without an IFI."""
    if not isinstance(actor, dict):
        return None
    account = actor.get("account")
    if isinstance(account, dict):
        home, name = account.get("homePage"), account.get("name")
        if isinstance(home, str) and isinstance(name, str) and home and name:
            return f"account:{home}|{name}"
        return None
    mbox = actor.get("mbox")
    if isinstance(mbox, str) and mbox:
        return "mbox:" + mbox.strip().lower()
    sha = actor.get("mbox_sha1sum")
    if isinstance(sha, str) and sha:
        return "sha1:" + sha.strip().lower()
    openid = actor.get("openid")
    if isinstance(openid, str) and openid:
        return "openid:" + openid
    return None


def actor_filter(key: str) -> dict[str, Any]:
    """The ``agent`` query parameter (a dict) selecting an actor key's statements."""
    kind, _, value = key.partition(":")
    if kind == "account":
        home, _, name = value.partition("|")
        return {"objectType": "Agent", "account": {"homePage": home, "name": name}}
    if kind == "mbox":
        return {"objectType": "Agent", "mbox": value}
    if kind == "sha1":
        return {"objectType": "Agent", "mbox_sha1sum": value}
    return {"objectType": "Agent", "openid": value}


# ---------------------------------------------------------------------------
# Building Pathwise's statements


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


# ---------------------------------------------------------------------------
# Validation (xAPI 1.0.3, strict: what a conformant LRS would accept)

_STATEMENT_KEYS = {
    "id",
    "actor",
    "verb",
    "object",
    "result",
    "context",
    "timestamp",
    "stored",
    "authority",
    "version",
    "attachments",
}
_AGENT_KEYS = {
    "objectType",
    "name",
    "mbox",
    "mbox_sha1sum",
    "openid",
    "account",
    "member",
}
_DEFINITION_KEYS = {
    "name",
    "description",
    "type",
    "moreInfo",
    "extensions",
    "interactionType",
    "correctResponsesPattern",
    "choices",
    "scale",
    "source",
    "target",
    "steps",
}
_RESULT_KEYS = {"score", "success", "completion", "response", "duration", "extensions"}
_CONTEXT_KEYS = {
    "registration",
    "instructor",
    "team",
    "contextActivities",
    "revision",
    "platform",
    "language",
    "statement",
    "extensions",
}


def _is_iri(value: Any) -> bool:
    return isinstance(value, str) and bool(_IRI_RE.match(value))


def _check_language_map(value: Any, where: str, problems: list[str]) -> None:
    if not isinstance(value, dict) or not value:
        problems.append(f"{where} must be a non-empty language map")
        return
    for lang, text in value.items():
        if (
            not isinstance(lang, str)
            or not _LANG_RE.match(lang)
            or not isinstance(text, str)
        ):
            problems.append(f"{where} has an invalid entry {lang!r}")


def _check_extensions(value: Any, where: str, problems: list[str]) -> None:
    if not isinstance(value, dict):
        problems.append(f"{where} must be an object")
        return
    for key in value:
        if not _is_iri(key):
            problems.append(f"{where} key {key!r} is not an IRI")


def _check_agent(value: Any, where: str, problems: list[str]) -> None:
    if not isinstance(value, dict):
        problems.append(f"{where} must be an object")
        return
    unknown = set(value) - _AGENT_KEYS
    if unknown:
        problems.append(f"{where} has unknown keys {sorted(unknown)}")
    kind = value.get("objectType", "Agent")
    ifis = [k for k in ("mbox", "mbox_sha1sum", "openid", "account") if k in value]
    if kind == "Group" and not ifis:
        members = value.get("member")
        if not isinstance(members, list) or not members:
            problems.append(f"{where} anonymous Group needs members")
        return
    if kind not in {"Agent", "Group"}:
        problems.append(f"{where}.objectType must be Agent or Group")
    if len(ifis) != 1:
        problems.append(
            f"{where} needs exactly one of mbox, mbox_sha1sum, openid, account"
        )
        return
    if "mbox" in value and not (
        isinstance(value["mbox"], str)
        and value["mbox"].startswith("mailto:")
        and "@" in value["mbox"]
    ):
        problems.append(f"{where}.mbox must be a mailto: IRI")
    if "mbox_sha1sum" in value and not (
        isinstance(value["mbox_sha1sum"], str) and _SHA1_RE.match(value["mbox_sha1sum"])
    ):
        problems.append(f"{where}.mbox_sha1sum must be 40 hex digits")
    if "openid" in value and not _is_iri(value["openid"]):
        problems.append(f"{where}.openid must be a URI")
    if "account" in value:
        account = value["account"]
        if (
            not isinstance(account, dict)
            or set(account) != {"homePage", "name"}
            or not _is_iri(account.get("homePage"))
            or not isinstance(account.get("name"), str)
            or not account.get("name")
        ):
            problems.append(f"{where}.account needs exactly homePage (IRL) and name")
    if "name" in value and not isinstance(value["name"], str):
        problems.append(f"{where}.name must be a string")


def _check_activity(value: Any, where: str, problems: list[str]) -> None:
    if not isinstance(value, dict):
        problems.append(f"{where} must be an object")
        return
    unknown = set(value) - {"objectType", "id", "definition"}
    if unknown:
        problems.append(f"{where} has unknown keys {sorted(unknown)}")
    if value.get("objectType", "Activity") != "Activity":
        problems.append(f"{where}.objectType must be Activity")
    if not _is_iri(value.get("id")):
        problems.append(f"{where}.id must be an IRI")
    definition = value.get("definition")
    if definition is None:
        return
    if not isinstance(definition, dict):
        problems.append(f"{where}.definition must be an object")
        return
    unknown = set(definition) - _DEFINITION_KEYS
    if unknown:
        problems.append(f"{where}.definition has unknown keys {sorted(unknown)}")
    for key in ("name", "description"):
        if key in definition:
            _check_language_map(definition[key], f"{where}.definition.{key}", problems)
    if "type" in definition and not _is_iri(definition["type"]):
        problems.append(f"{where}.definition.type must be an IRI")
    if "extensions" in definition:
        _check_extensions(
            definition["extensions"], f"{where}.definition.extensions", problems
        )


def _check_result(value: Any, problems: list[str]) -> None:
    if not isinstance(value, dict):
        problems.append("result must be an object")
        return
    unknown = set(value) - _RESULT_KEYS
    if unknown:
        problems.append(f"result has unknown keys {sorted(unknown)}")
    for key in ("success", "completion"):
        if key in value and not isinstance(value[key], bool):
            problems.append(f"result.{key} must be true or false")
    if "response" in value and not isinstance(value["response"], str):
        problems.append("result.response must be a string")
    if "duration" in value and not (
        isinstance(value["duration"], str) and _DURATION_RE.match(value["duration"])
    ):
        problems.append("result.duration must be an ISO 8601 duration")
    if "extensions" in value:
        _check_extensions(value["extensions"], "result.extensions", problems)
    score = value.get("score")
    if score is None:
        return
    if not isinstance(score, dict) or set(score) - {"scaled", "raw", "min", "max"}:
        problems.append("result.score may only hold scaled, raw, min, max")
        return
    for key, number in score.items():
        if isinstance(number, bool) or not isinstance(number, int | float):
            problems.append(f"result.score.{key} must be a number")
            return
    scaled = score.get("scaled")
    if scaled is not None and not -1 <= scaled <= 1:
        problems.append("result.score.scaled must be within [-1, 1]")
    low, high, raw = score.get("min"), score.get("max"), score.get("raw")
    if low is not None and high is not None and low >= high:
        problems.append("result.score.min must be below max")
    if raw is not None and (
        (low is not None and raw < low) or (high is not None and raw > high)
    ):
        problems.append("result.score.raw must be within [min, max]")


def _check_context(value: Any, problems: list[str]) -> None:
    if not isinstance(value, dict):
        problems.append("context must be an object")
        return
    unknown = set(value) - _CONTEXT_KEYS
    if unknown:
        problems.append(f"context has unknown keys {sorted(unknown)}")
    if "registration" in value and not (
        isinstance(value["registration"], str) and _UUID_RE.match(value["registration"])
    ):
        problems.append("context.registration must be a UUID")
    for key in ("platform", "revision", "language"):
        if key in value and not isinstance(value[key], str):
            problems.append(f"context.{key} must be a string")
    if "instructor" in value:
        _check_agent(value["instructor"], "context.instructor", problems)
    if "extensions" in value:
        _check_extensions(value["extensions"], "context.extensions", problems)
    activities = value.get("contextActivities")
    if activities is None:
        return
    if not isinstance(activities, dict) or set(activities) - {
        "parent",
        "grouping",
        "category",
        "other",
    }:
        problems.append(
            "context.contextActivities may only hold parent, grouping, category, other"
        )
        return
    for key, items in activities.items():
        for index, item in enumerate(items if isinstance(items, list) else [items]):
            _check_activity(item, f"context.contextActivities.{key}[{index}]", problems)


def validate_statement(statement: Any) -> list[str]:
    """Problems that make a strict xAPI 1.0.3 LRS refuse ``statement`` ([] = valid)."""
    problems: list[str] = []
    if not isinstance(statement, dict):
        return ["a statement must be a JSON object"]
    unknown = set(statement) - _STATEMENT_KEYS
    if unknown:
        problems.append(f"unknown keys {sorted(unknown)}")
    if "id" in statement and not (
        isinstance(statement["id"], str) and _UUID_RE.match(statement["id"])
    ):
        problems.append("id must be a UUID")
    _check_agent(statement.get("actor"), "actor", problems)
    verb = statement.get("verb")
    if not isinstance(verb, dict) or not _is_iri(verb.get("id")):
        problems.append("verb.id must be an IRI")
    elif "display" in verb:
        _check_language_map(verb["display"], "verb.display", problems)
    target = statement.get("object")
    if isinstance(target, dict) and target.get("objectType") == "StatementRef":
        if not (isinstance(target.get("id"), str) and _UUID_RE.match(target["id"])):
            problems.append("object StatementRef id must be a UUID")
    elif isinstance(target, dict) and target.get("objectType") in {"Agent", "Group"}:
        _check_agent(target, "object", problems)
    else:
        _check_activity(target, "object", problems)
    if "result" in statement:
        _check_result(statement["result"], problems)
    if "context" in statement:
        _check_context(statement["context"], problems)
    if "timestamp" in statement and parse_timestamp(statement["timestamp"]) is None:
        problems.append("timestamp must be ISO 8601 with a timezone")
    version = statement.get("version")
    if version is not None and not (
        isinstance(version, str) and version.startswith("1.0")
    ):
        problems.append("version must be 1.0.x")
    return problems


# ---------------------------------------------------------------------------
# Reading incoming statements (lenient: any xAPI version, unknown fields ignored)


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
    if not isinstance(sid, str) or not _UUID_RE.match(sid):
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
