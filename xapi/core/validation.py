"""Pure xAPI core: strict statement checks (xAPI 1.0.3, as a conformant LRS would).

Used on everything we send, so a statement the LRS would refuse fails where it is
built, not later in the outbox.
"""

from __future__ import annotations

import re
from typing import Any

from xapi.core.formats import UUID_RE, parse_timestamp

_IRI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:\S+$")
_SHA1_RE = re.compile(r"^[0-9a-f]{40}$")
_DURATION_RE = re.compile(
    r"^P(?:\d+(?:\.\d+)?Y)?(?:\d+(?:\.\d+)?M)?(?:\d+(?:\.\d+)?W)?(?:\d+(?:\.\d+)?D)?"
    r"(?:T(?:\d+(?:\.\d+)?H)?(?:\d+(?:\.\d+)?M)?(?:\d+(?:\.\d+)?S)?)?$"
)
_LANG_RE = re.compile(r"^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$")


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


def is_iri(value: Any) -> bool:
    """An absolute IRI: a scheme, a colon, then no whitespace."""
    return isinstance(value, str) and bool(_IRI_RE.match(value))


def is_sha1(value: Any) -> bool:
    """A hex SHA-1 (``mbox_sha1sum``), either case."""
    return isinstance(value, str) and bool(_SHA1_RE.match(value.lower()))


def is_duration(value: Any) -> bool:
    """An ISO 8601 duration with at least one component (``PT1M30S``, ``P3D``)."""
    return (
        isinstance(value, str)
        and bool(_DURATION_RE.match(value))
        and value not in ("P", "PT")
        and not value.endswith("T")
    )


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
        if not is_iri(key):
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
    if "openid" in value and not is_iri(value["openid"]):
        problems.append(f"{where}.openid must be a URI")
    if "account" in value:
        account = value["account"]
        if (
            not isinstance(account, dict)
            or set(account) != {"homePage", "name"}
            or not is_iri(account.get("homePage"))
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
    if not is_iri(value.get("id")):
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
    if "type" in definition and not is_iri(definition["type"]):
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
    if "duration" in value and not is_duration(value["duration"]):
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
        isinstance(value["registration"], str) and UUID_RE.match(value["registration"])
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
        isinstance(statement["id"], str) and UUID_RE.match(statement["id"])
    ):
        problems.append("id must be a UUID")
    _check_agent(statement.get("actor"), "actor", problems)
    verb = statement.get("verb")
    if not isinstance(verb, dict) or not is_iri(verb.get("id")):
        problems.append("verb.id must be an IRI")
    elif "display" in verb:
        _check_language_map(verb["display"], "verb.display", problems)
    target = statement.get("object")
    if isinstance(target, dict) and target.get("objectType") == "StatementRef":
        if not (isinstance(target.get("id"), str) and UUID_RE.match(target["id"])):
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
