"""Unit: external xAPI content: the launch URL, judging its statements, its outcomes."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

from xapi.core.content import content_outcome, judge_content_statement, launch_url

ACTOR = {
    "objectType": "Agent",
    "name": "Ann Example",
    "account": {"homePage": "https://lms.example.edu", "name": "4f2c9"},
}
REG = "0d7c1d1c-3c6f-5d55-9a1e-5c2a8b1f6d40"
IRI = "https://content.example.com/activities/sim"


def _statement(**overrides: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "id": "6b0f3e1e-9a41-4c0e-8d0a-2b7f3f0a9a11",
        "actor": {"account": {"homePage": "https://lms.example.edu", "name": "4f2c9"}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/passed"},
        "object": {"objectType": "Activity", "id": IRI},
        "context": {"registration": REG.upper()},
    }
    statement.update(overrides)
    return statement


def test_the_launch_url_carries_the_five_parameters_and_keeps_its_own() -> None:
    url = launch_url(
        "https://content.example.com/sim/index.html?lang=fr&endpoint=evil#start",
        endpoint="https://pathwise.example/xapi/lrs/",
        auth="Basic cGF0aHdpc2U6eA==",
        actor=ACTOR,
        registration=REG,
        activity_id=IRI,
    )
    parts = urlsplit(url)
    params = parse_qs(parts.query)
    assert parts.fragment == "start"
    assert params["lang"] == ["fr"]
    assert params["endpoint"] == ["https://pathwise.example/xapi/lrs/"]  # ours wins
    assert params["auth"] == ["Basic cGF0aHdpc2U6eA=="]
    assert json.loads(params["actor"][0]) == ACTOR
    assert params["registration"] == [REG]
    assert params["activity_id"] == [IRI]
    # decodeURIComponent leaves "+" alone: spaces must travel as %20.
    assert "Ann%20Example" in url and "+" not in parts.query


def test_statements_are_judged_strictly_and_against_the_launch() -> None:
    assert judge_content_statement(_statement(), actor=ACTOR, registration=REG) is None
    cases = {
        "invalid_statement": _statement(verb={"id": "passed"}),
        "other_actor": _statement(
            actor={"account": {"homePage": "https://lms.example.edu", "name": "x"}}
        ),
        "other_registration": _statement(context={}),
        "voiding_refused": _statement(
            verb={"id": "http://adlnet.gov/expapi/verbs/voided"},
            object={
                "objectType": "StatementRef",
                "id": "6b0f3e1e-9a41-4c0e-8d0a-2b7f3f0a9a12",
            },
        ),
    }
    for code, statement in cases.items():
        refusal = judge_content_statement(statement, actor=ACTOR, registration=REG)
        assert refusal is not None and refusal.code == code, (code, refusal)


def test_only_an_outcome_on_the_launched_activity_counts_with_its_score() -> None:
    def outcome(**overrides: Any) -> tuple[str, float | None] | None:
        found = content_outcome(_statement(**overrides), activity_id=IRI)
        return None if found is None else (found.verb, found.score)

    assert outcome() == ("passed", 1.0)
    assert outcome(verb={"id": "http://adlnet.gov/expapi/verbs/failed"}) == (
        "failed",
        0.0,
    )
    assert outcome(
        verb={"id": "http://adlnet.gov/expapi/verbs/completed"}, result={}
    ) == ("completed", None)
    assert outcome(result={"score": {"scaled": 0.75}}) == ("passed", 0.75)
    assert outcome(result={"score": {"raw": 7, "min": 0, "max": 10}}) == (
        "passed",
        0.7,
    )
    assert outcome(result={"score": {"scaled": -0.5}}) == ("passed", 0.0)
    assert outcome(object={"objectType": "Activity", "id": IRI + "/q1"}) is None
    assert outcome(verb={"id": "http://adlnet.gov/expapi/verbs/experienced"}) is None
