"""Evidence rules: parsing, matching, outcomes, and the shipped defaults."""

from __future__ import annotations

from typing import Any

import pytest

from tests.xapi_support import code_review_statement, course_statement, ticket_statement
from xapi.core import profile
from xapi.core.rule_parsing import RuleError, default_rules, parse_rules
from xapi.core.rules import RuleSet, compile_patterns


def match(rules: RuleSet, statement: dict[str, Any]) -> list[Any]:
    target = statement["object"]
    return rules.match(
        statement,
        statement["verb"]["id"],
        target["id"],
        target.get("definition", {}).get("type"),
    )


def test_defaults_turn_adl_verbs_into_outcomes() -> None:
    rules = default_rules()
    passed = match(rules, course_statement("u0", "passed"))
    assert [(m.rule_key, m.outcome, m.use_activity_skills) for m in passed] == [
        ("adl-passed", 1.0, True)
    ]
    assert match(rules, course_statement("u0", "failed"))[0].outcome == 0.0
    scored = match(rules, course_statement("u0", "scored", score=0.8))
    assert scored[0].outcome == pytest.approx(0.8)
    assert match(rules, course_statement("u0", "experienced")) == []


def test_defaults_read_work_signals() -> None:
    rules = default_rules()
    review = match(rules, code_review_statement("u0"))[0]
    assert review.rule_key == "work-code-review-approved"
    assert [s.key for s in review.skills] == ["code-review", "python"]
    assert (review.weight, review.level) == (2.0, 3)
    happy = match(rules, ticket_statement("u0", csat=5))[0]
    unhappy = match(rules, ticket_statement("u0", csat=2))[0]
    assert (happy.rule_key, happy.outcome) == ("work-ticket-resolved-csat", 1.0)
    assert unhappy.outcome == pytest.approx(0.25)


def test_patterns_thresholds_and_extensions() -> None:
    rules = parse_rules(
        {
            "version": 1,
            "rules": [
                {
                    "key": "high-scores-on-sql",
                    "match": {
                        "verb": "http://adlnet.gov/expapi/verbs/scored",
                        "activity_id": ["re:https://courses\\.example\\.com/sql-.*"],
                        "result": {"score_min": 0.7},
                        "extensions": [
                            {
                                "where": "context",
                                "key": "https://x/team",
                                "in": ["a", "b"],
                            }
                        ],
                    },
                    "skills": [{"key": "sql", "weight": 2}],
                    "outcome": "score",
                }
            ],
        }
    )
    statement = course_statement("u0", "scored", score=0.9)
    assert match(rules, statement) == []
    statement["context"] = {"extensions": {"https://x/team": "a"}}
    found = match(rules, statement)
    assert found[0].skills[0].weight == 2
    statement["result"]["score"]["scaled"] = 0.5
    assert match(rules, statement) == []
    other = course_statement("u0", "scored", course="python-course", score=0.9)
    other["context"] = {"extensions": {"https://x/team": "a"}}
    assert match(rules, other) == []


def test_non_stopping_rules_add_up() -> None:
    rules = parse_rules(
        [
            {"key": "a", "skills": ["x"], "stop": False},
            {"key": "b", "skills": ["y"], "outcome": 0.5},
            {"key": "c", "skills": ["z"]},
        ]
    )
    statement = course_statement("u0", "passed")
    assert [m.rule_key for m in match(rules, statement)] == ["a", "b"]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"rules": [{"key": "a"}]}, "name skills"),
        ({"rules": [{"key": "a", "skills": ["x"], "bogus": 1}]}, "unknown fields"),
        ({"rules": [{"key": "a", "skills": ["x"], "outcome": 3}]}, "within"),
        (
            {"rules": [{"key": "a", "skills": ["x"]}, {"key": "a", "skills": ["y"]}]},
            "dup",
        ),
        ({"version": 9, "rules": []}, "version"),
        ("{not json", "not JSON"),
    ],
)
def test_bad_rule_sets_are_refused_with_the_reason(document: Any, message: str) -> None:
    with pytest.raises(RuleError, match=message):
        parse_rules(document)


def test_rule_set_round_trips_as_json() -> None:
    rules = default_rules()
    again = parse_rules(rules.to_json())
    assert [r.key for r in again.rules] == [r.key for r in rules.rules]
    assert profile.WORK_VERB_APPROVED in again.rules[0].verbs


def test_exact_glob_and_regex_patterns_match_as_written() -> None:
    exact = compile_patterns(["https://a.example/x", "https://a.example/y"])
    assert exact is not None
    assert exact("https://a.example/x") and exact("https://a.example/y")
    assert not exact("https://a.example/x/1") and not exact("https://a.example/")
    mixed = compile_patterns(
        ["https://a.example/x", "https://b.example/*", "re:^c\\d$"]
    )
    assert mixed is not None
    assert (
        mixed("https://a.example/x") and mixed("https://b.example/any") and mixed("c7")
    )
    assert not mixed("https://a.example/z") and not mixed("c77")
    assert compile_patterns([]) is None
