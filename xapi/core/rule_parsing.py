"""Pure xAPI core: reading evidence rule sets from JSON, strictly; the shipped defaults.

A rule set is JSON (per tenant, importable); every problem is a ``RuleError`` that
names the rule and field, so an admin can fix the document. See docs/xapi.md.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

from xapi.core.rules import (
    ExtensionCondition,
    OutcomeSpec,
    Rule,
    RuleSet,
    SkillRef,
    compile_patterns,
)

FORMAT_VERSION = 1
_WHERE = ("result", "context", "object")
_OUTCOME_KINDS = ("fixed", "success", "score", "extension")


class RuleError(ValueError):
    """A rule set that cannot be used; the message names the rule and field."""


def _require(condition: bool, where: str, message: str) -> None:
    if not condition:
        raise RuleError(f"{where}: {message}")


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    _require(
        isinstance(value, list) and all(isinstance(v, str) and v for v in value),
        where,
        "must be a string or a list of strings",
    )
    return tuple(value)


def _opt_number(value: Any, where: str) -> float | None:
    if value is None:
        return None
    _require(
        isinstance(value, int | float) and not isinstance(value, bool),
        where,
        "must be a number",
    )
    return float(value)


def _parse_outcome(value: Any, where: str) -> OutcomeSpec:
    if value is None:
        return OutcomeSpec()
    if isinstance(value, int | float) and not isinstance(value, bool):
        _require(0 <= value <= 1, where, "a fixed outcome must be within [0, 1]")
        return OutcomeSpec(kind="fixed", value=float(value))
    if isinstance(value, str):
        value = {"from": value}
    _require(isinstance(value, dict), where, "must be a number, a name or an object")
    kind = value.get("from", "fixed")
    _require(kind in _OUTCOME_KINDS, where, f"'from' must be one of {_OUTCOME_KINDS}")
    default = _opt_number(value.get("default"), where + ".default")
    if kind == "fixed":
        fixed = _opt_number(value.get("value", 1.0), where + ".value")
        _require(fixed is not None and 0 <= fixed <= 1, where, "value within [0, 1]")
        return OutcomeSpec(kind="fixed", value=float(fixed or 0.0))
    if kind in ("success", "score"):
        return OutcomeSpec(kind=kind, default=default)
    where_in = value.get("where", "result")
    _require(where_in in _WHERE, where, f"'where' must be one of {_WHERE}")
    key = value.get("key")
    _require(isinstance(key, str) and bool(key), where, "'key' (an IRI) is required")
    low = _opt_number(value.get("min", 0.0), where + ".min")
    high = _opt_number(value.get("max", 1.0), where + ".max")
    _require(low is not None and high is not None and high > low, where, "min < max")
    return OutcomeSpec(
        kind="extension",
        where=where_in,
        key=str(key),
        low=float(low or 0.0),
        high=float(high or 1.0),
        default=default,
    )


def _parse_extension_condition(value: Any, where: str) -> ExtensionCondition:
    _require(isinstance(value, dict), where, "must be an object")
    place = value.get("where", "result")
    _require(place in _WHERE, where, f"'where' must be one of {_WHERE}")
    key = value.get("key")
    _require(isinstance(key, str) and bool(key), where, "'key' (an IRI) is required")
    one_of = value.get("in")
    _require(one_of is None or isinstance(one_of, list), where, "'in' must be a list")
    exists = value.get("exists")
    _require(exists is None or isinstance(exists, bool), where, "'exists' is a boolean")
    return ExtensionCondition(
        where=place,
        key=str(key),
        equals=value.get("equals"),
        one_of=tuple(one_of) if one_of is not None else None,
        minimum=_opt_number(value.get("min"), where + ".min"),
        maximum=_opt_number(value.get("max"), where + ".max"),
        exists=exists,
    )


def _parse_skills(value: Any, where: str) -> tuple[SkillRef, ...]:
    if value is None:
        return ()
    _require(isinstance(value, list), where, "must be a list")
    refs: list[SkillRef] = []
    for index, item in enumerate(value):
        here = f"{where}[{index}]"
        if isinstance(item, str):
            _require(bool(item), here, "a skill key cannot be empty")
            refs.append(SkillRef(item))
            continue
        _require(isinstance(item, dict), here, "must be a key or {key, weight}")
        key = item.get("key")
        _require(isinstance(key, str) and bool(key), here, "'key' is required")
        weight = _opt_number(item.get("weight", 1.0), here + ".weight")
        _require(weight is not None and weight > 0, here, "weight must be positive")
        refs.append(SkillRef(str(key), float(weight or 1.0)))
    return tuple(refs)


_RULE_KEYS = {
    "key", "description", "match", "skills", "skills_from_extension",
    "use_activity_skills", "outcome", "weight", "level", "stop",
}  # fmt: skip
_MATCH_KEYS = {"verb", "activity_id", "activity_type", "result", "extensions"}


def parse_rule(value: Any, where: str) -> Rule:
    _require(isinstance(value, dict), where, "a rule must be an object")
    unknown = set(value) - _RULE_KEYS
    _require(not unknown, where, f"unknown fields {sorted(unknown)}")
    key = value.get("key")
    _require(isinstance(key, str) and 0 < len(key) <= 100, where, "'key' (<=100 chars)")
    where = f"rule {key!r}"
    match = value.get("match", {})
    _require(isinstance(match, dict), where, "'match' must be an object")
    unknown = set(match) - _MATCH_KEYS
    _require(not unknown, where + ".match", f"unknown fields {sorted(unknown)}")
    result = match.get("result", {})
    _require(isinstance(result, dict), where, "'match.result' must be an object")
    for flag in ("success", "completion"):
        _require(
            result.get(flag) is None or isinstance(result.get(flag), bool),
            where,
            f"match.result.{flag} must be true or false",
        )
    activity_ids = _strings(match.get("activity_id"), where + ".match.activity_id")
    activity_types = _strings(
        match.get("activity_type"), where + ".match.activity_type"
    )
    try:
        id_match = compile_patterns(activity_ids)
        type_match = compile_patterns(activity_types)
    except re.error as exc:
        raise RuleError(f"{where}: bad regular expression: {exc}") from None
    conditions = match.get("extensions", [])
    _require(isinstance(conditions, list), where, "'match.extensions' must be a list")
    level = value.get("level")
    _require(
        level is None or (isinstance(level, int) and not isinstance(level, bool)),
        where,
        "'level' must be a whole number",
    )
    weight = _opt_number(value.get("weight", 1.0), where + ".weight")
    _require(weight is not None and weight > 0, where, "'weight' must be positive")
    skills_ext = value.get("skills_from_extension")
    _require(
        skills_ext is None or isinstance(skills_ext, str),
        where,
        "'skills_from_extension' must be an IRI",
    )
    skills = _parse_skills(value.get("skills"), where + ".skills")
    use_activity = bool(value.get("use_activity_skills", False))
    _require(
        bool(skills) or bool(skills_ext) or use_activity,
        where,
        "name skills, skills_from_extension, or use_activity_skills",
    )
    return Rule(
        key=key,
        description=str(value.get("description", "")),
        verbs=_strings(match.get("verb"), where + ".match.verb"),
        activity_ids=activity_ids,
        activity_types=activity_types,
        success=result.get("success"),
        completion=result.get("completion"),
        score_min=_opt_number(result.get("score_min"), where + ".score_min"),
        score_max=_opt_number(result.get("score_max"), where + ".score_max"),
        extensions=tuple(
            _parse_extension_condition(c, f"{where}.match.extensions[{i}]")
            for i, c in enumerate(conditions)
        ),
        skills=skills,
        skills_from_extension=skills_ext,
        use_activity_skills=use_activity,
        outcome=_parse_outcome(value.get("outcome"), where + ".outcome"),
        weight=float(weight or 1.0),
        level=level,
        stop=bool(value.get("stop", True)),
        _id_match=id_match,
        _type_match=type_match,
    )


def parse_rules(data: Any) -> RuleSet:
    """Validate and compile a rule-set document; raise RuleError naming the problem."""
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise RuleError(f"not JSON: {exc}") from None
    if isinstance(data, list):
        data = {"version": FORMAT_VERSION, "rules": data}
    _require(isinstance(data, dict), "rule set", "must be an object with 'rules'")
    _require(
        data.get("version", FORMAT_VERSION) == FORMAT_VERSION,
        "rule set",
        f"unsupported version (expected {FORMAT_VERSION})",
    )
    items = data.get("rules")
    _require(isinstance(items, list), "rule set", "'rules' must be a list")
    rules = [parse_rule(item, f"rules[{i}]") for i, item in enumerate(items)]
    keys = [r.key for r in rules]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    _require(not duplicates, "rule set", f"duplicate rule keys {duplicates}")
    return RuleSet(rules, {"version": FORMAT_VERSION, "rules": items})


def default_rules_document() -> dict[str, Any]:
    text = (
        resources.files("xapi.core").joinpath("default_rules.json").read_text("utf-8")
    )
    document: dict[str, Any] = json.loads(text)
    return document


def default_rules() -> RuleSet:
    """The shipped defaults: ADL verbs plus common work signals."""
    return parse_rules(default_rules_document())
