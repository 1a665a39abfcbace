"""Pure evidence rules: which statements are skill evidence, with what outcome, weight.

A rule set is JSON (per tenant, importable); rules are tried in order and the first
match wins unless a rule says ``"stop": false``. See docs/xapi.md for the format.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from importlib import resources
from typing import Any

FORMAT_VERSION = 1
_WHERE = ("result", "context", "object")
_OUTCOME_KINDS = ("fixed", "success", "score", "extension")


class RuleError(ValueError):
    """A rule set that cannot be used; the message names the rule and field."""


Matcher = Callable[[str], bool]


def compile_patterns(patterns: Sequence[str]) -> Matcher | None:
    """Exact strings, ``*``/``?`` globs, or ``re:`` regular expressions (full match)."""
    if not patterns:
        return None
    exact = {p for p in patterns if not p.startswith("re:") and not set(p) & set("*?[")}
    globs = [p for p in patterns if not p.startswith("re:") and p not in exact]
    regexes = [re.compile(p[3:]) for p in patterns if p.startswith("re:")]

    def match(value: str) -> bool:
        if value in exact:
            return True
        if any(fnmatchcase(value, g) for g in globs):
            return True
        return any(r.fullmatch(value) for r in regexes)

    return match


@dataclass(frozen=True, slots=True)
class SkillRef:
    key: str
    weight: float = 1.0


@dataclass(frozen=True)
class ExtensionCondition:
    where: str
    key: str
    equals: Any = None
    one_of: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    exists: bool | None = None

    def holds(self, statement: Mapping[str, Any]) -> bool:
        present, value = _extension(statement, self.where, self.key)
        if self.exists is not None and present != self.exists:
            return False
        if not present:
            return self.exists is False
        if self.equals is not None and value != self.equals:
            return False
        if self.one_of is not None and value not in self.one_of:
            return False
        if self.minimum is not None or self.maximum is not None:
            number = _number(value)
            if number is None:
                return False
            if self.minimum is not None and number < self.minimum:
                return False
            if self.maximum is not None and number > self.maximum:
                return False
        return True


@dataclass(frozen=True)
class OutcomeSpec:
    """How a matching statement becomes an outcome in [0, 1]."""

    kind: str = "fixed"
    value: float = 1.0
    where: str = "result"
    key: str = ""
    low: float = 0.0
    high: float = 1.0
    default: float | None = None

    def evaluate(self, statement: Mapping[str, Any]) -> float | None:
        if self.kind == "fixed":
            return self.value
        if self.kind == "success":
            success = _result(statement).get("success")
            if isinstance(success, bool):
                return 1.0 if success else 0.0
            return self.default
        if self.kind == "score":
            score = scaled_score(statement)
            return _clip(score) if score is not None else self.default
        present, raw = _extension(statement, self.where, self.key)
        number = _number(raw) if present else None
        if number is None or self.high == self.low:
            return self.default
        return _clip((number - self.low) / (self.high - self.low))


@dataclass(frozen=True)
class Rule:
    key: str
    description: str = ""
    verbs: tuple[str, ...] = ()
    activity_ids: tuple[str, ...] = ()
    activity_types: tuple[str, ...] = ()
    success: bool | None = None
    completion: bool | None = None
    score_min: float | None = None
    score_max: float | None = None
    extensions: tuple[ExtensionCondition, ...] = ()
    skills: tuple[SkillRef, ...] = ()
    skills_from_extension: str | None = None
    use_activity_skills: bool = False
    outcome: OutcomeSpec = field(default_factory=OutcomeSpec)
    weight: float = 1.0
    level: int | None = None
    stop: bool = True
    _id_match: Matcher | None = field(default=None, compare=False, repr=False)
    _type_match: Matcher | None = field(default=None, compare=False, repr=False)

    def evaluate(
        self, statement: Mapping[str, Any], object_id: str, object_type: str | None
    ) -> RuleMatch | None:
        """The evidence this rule draws from a statement whose verb already matched."""
        if self._id_match is not None and not self._id_match(object_id):
            return None
        if self._type_match is not None and (
            object_type is None or not self._type_match(object_type)
        ):
            return None
        if self.success is not None or self.completion is not None:
            result = _result(statement)
            if self.success is not None and result.get("success") is not self.success:
                return None
            if (
                self.completion is not None
                and result.get("completion") is not self.completion
            ):
                return None
        if self.score_min is not None or self.score_max is not None:
            score = scaled_score(statement)
            if score is None:
                return None
            if self.score_min is not None and score < self.score_min:
                return None
            if self.score_max is not None and score > self.score_max:
                return None
        if not all(c.holds(statement) for c in self.extensions):
            return None
        outcome = self.outcome.evaluate(statement)
        if outcome is None:
            return None
        skills = self.skills
        if self.skills_from_extension:
            skills = skills + _skills_from_statement(
                statement, self.skills_from_extension
            )
        return RuleMatch(
            rule_key=self.key,
            skills=skills,
            use_activity_skills=self.use_activity_skills,
            outcome=outcome,
            weight=self.weight,
            level=self.level,
        )


@dataclass(frozen=True, slots=True)
class RuleMatch:
    rule_key: str
    skills: tuple[SkillRef, ...]
    use_activity_skills: bool
    outcome: float
    weight: float
    level: int | None


class RuleSet:
    """Compiled rules, indexed by verb so most statements try only a few rules."""

    def __init__(self, rules: Sequence[Rule], source: Mapping[str, Any]) -> None:
        self.rules = tuple(rules)
        self.source = dict(source)
        self._by_verb: dict[str, list[tuple[int, Rule]]] = {}
        self._any_verb: list[tuple[int, Rule]] = []
        for index, rule in enumerate(self.rules):
            if rule.verbs:
                for verb in rule.verbs:
                    self._by_verb.setdefault(verb, []).append((index, rule))
            else:
                self._any_verb.append((index, rule))
        self._cache: dict[str, tuple[Rule, ...]] = {}

    def _candidates(self, verb: str) -> tuple[Rule, ...]:
        cached = self._cache.get(verb)
        if cached is None:
            merged = sorted(self._by_verb.get(verb, []) + self._any_verb)
            cached = tuple(rule for _, rule in merged)
            self._cache[verb] = cached
        return cached

    def match(
        self,
        statement: Mapping[str, Any],
        verb: str,
        object_id: str,
        object_type: str | None,
    ) -> list[RuleMatch]:
        """Every rule result for a statement, in order, up to the first stopping one."""
        matches: list[RuleMatch] = []
        for rule in self._candidates(verb):
            found = rule.evaluate(statement, object_id, object_type)
            if found is not None:
                matches.append(found)
                if rule.stop:
                    break
        return matches

    def to_json(self) -> dict[str, Any]:
        return dict(self.source)


# ---------------------------------------------------------------------------
# Parsing


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


# ---------------------------------------------------------------------------
# Statement helpers


def _result(statement: Mapping[str, Any]) -> Mapping[str, Any]:
    result = statement.get("result")
    return result if isinstance(result, dict) else {}


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _clip(value: float) -> float:
    return 0.0 if value < 0 else 1.0 if value > 1 else value


def scaled_score(statement: Mapping[str, Any]) -> float | None:
    """``score.scaled``, else ``raw`` placed between ``min`` and ``max``."""
    score = _result(statement).get("score")
    if not isinstance(score, dict):
        return None
    scaled = _number(score.get("scaled"))
    if scaled is not None:
        return scaled
    raw, low, high = (_number(score.get(k)) for k in ("raw", "min", "max"))
    if raw is None or low is None or high is None or high <= low:
        return None
    return (raw - low) / (high - low)


def _extension(statement: Mapping[str, Any], where: str, key: str) -> tuple[bool, Any]:
    if where == "object":
        target = statement.get("object")
        holder = target.get("definition") if isinstance(target, dict) else None
    else:
        holder = statement.get(where)
    extensions = holder.get("extensions") if isinstance(holder, dict) else None
    if not isinstance(extensions, dict) or key not in extensions:
        return False, None
    return True, extensions[key]


def _skills_from_statement(
    statement: Mapping[str, Any], key: str
) -> tuple[SkillRef, ...]:
    for where in ("context", "result", "object"):
        present, value = _extension(statement, where, key)
        if not present:
            continue
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",")]
        if isinstance(value, list):
            return tuple(SkillRef(v) for v in value if isinstance(v, str) and v)
    return ()
