"""Pure xAPI core: evidence rules and how one matches a statement (outcome, skills).

Rules are tried in order and the first match wins unless a rule says
``"stop": false``; a verb index keeps most statements to a few candidates. Rule
sets are read from JSON by ``xapi.core.rule_parsing``; see docs/xapi.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

Matcher = Callable[[str], bool]


def compile_patterns(patterns: Sequence[str]) -> Matcher | None:
    """Exact strings, ``*``/``?`` globs, or ``re:`` regular expressions (full match)."""
    if not patterns:
        return None
    exact = {p for p in patterns if not p.startswith("re:") and not set(p) & set("*?[")}
    globs = [p for p in patterns if not p.startswith("re:") and p not in exact]
    regexes = [re.compile(p[3:]) for p in patterns if p.startswith("re:")]
    if not globs and not regexes:
        # The usual case, run for every statement a rule is tried on: a set lookup.
        return exact.__contains__

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
        if self.extensions and not all(c.holds(statement) for c in self.extensions):
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
    """``score.scaled``, else ``raw`` placed between ``min`` and ``max``.

    None for a score outside its range (``scaled`` beyond [-1, 1], ``raw``
    outside [min, max]): such a statement is quarantined when it is read
    (``xapi.core.incoming``), and is never clipped into a perfect outcome here.
    """
    score = _result(statement).get("score")
    if not isinstance(score, dict):
        return None
    scaled = _number(score.get("scaled"))
    if scaled is not None:
        return scaled if -1.0 <= scaled <= 1.0 else None
    raw, low, high = (_number(score.get(k)) for k in ("raw", "min", "max"))
    if raw is None or low is None or high is None or high <= low:
        return None
    if not low <= raw <= high:
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
