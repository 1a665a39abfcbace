"""Strict judging of incoming statements (issue 10, defect 4): property tests over
``xapi.core.incoming.read_incoming`` and the score helper of the rules."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.statement_strategies import malformed_statements, valid_statements
from xapi.core import incoming, rules


@settings(max_examples=300, deadline=None)
@given(valid_statements())
def test_a_valid_statement_is_never_refused(statement: dict[str, Any]) -> None:
    item = incoming.read_incoming(statement)
    assert isinstance(item, incoming.Incoming), item
    if "timestamp" in statement:
        assert item.occurred is not None and item.occurred.tzinfo == dt.UTC


@settings(max_examples=400, deadline=None)
@given(malformed_statements())
def test_a_malformed_statement_is_refused_with_its_reason(
    case: tuple[str, Any],
) -> None:
    code, statement = case
    item = incoming.read_incoming(statement)
    assert isinstance(item, incoming.Refusal), statement
    assert item.code == code and item.reason


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
)
FIELDS = ("id", "actor", "verb", "object", "stored", "timestamp", "result", "version")


@given(st.dictionaries(st.sampled_from(FIELDS), JSON) | JSON)
def test_reading_anything_never_raises(value: Any) -> None:
    assert isinstance(
        incoming.read_incoming(value), incoming.Incoming | incoming.Refusal
    )


@pytest.mark.parametrize(
    ("timestamp", "version", "expected"),
    [
        ("2026-03-01T12:30:00+02:30", None, dt.datetime(2026, 3, 1, 10, 0)),
        (
            "2026-03-01T05:00:00.123-05:00",
            "2.0.0",
            dt.datetime(2026, 3, 1, 10, 0, 0, 123000),
        ),
        ("20260301T100000Z", "1.0.3", dt.datetime(2026, 3, 1, 10, 0)),
        ("2026-03-01T10:00:00", "1.0.3", dt.datetime(2026, 3, 1, 10, 0)),
        (
            "2026-03-01T10:00:00.1234567Z",
            "2.0.0",
            dt.datetime(2026, 3, 1, 10, 0, 0, 123456),
        ),
    ],
)
def test_offsets_are_converted_not_refused(
    timestamp: str, version: str | None, expected: dt.datetime
) -> None:
    moment = incoming.read_timestamp(timestamp, v2=version == "2.0.0")
    assert moment == expected.replace(tzinfo=dt.UTC)


def test_an_impossible_date_never_becomes_the_store_time() -> None:
    statement = {
        "id": "6f1c2c1e-2c7e-4f3a-9a55-1c3e7c2b9a10",
        "actor": {"mbox": "mailto:a@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/passed"},
        "object": {"id": "https://x.example.com/y"},
        "stored": "2026-03-01T10:00:00Z",
        "timestamp": "2025-02-30T10:00:00Z",
    }
    assert incoming.read_incoming(statement) == incoming.Refusal(
        "bad_timestamp", "timestamp is not a valid date-time"
    )


def test_an_out_of_range_score_is_never_clipped_to_a_perfect_outcome() -> None:
    spec = rules.OutcomeSpec(kind="score", default=None)
    assert spec.evaluate({"result": {"score": {"scaled": 1.5}}}) is None
    assert (
        spec.evaluate({"result": {"score": {"raw": 12, "min": 0, "max": 10}}}) is None
    )
    assert spec.evaluate({"result": {"score": {"raw": 5, "min": 0, "max": 10}}}) == 0.5
    assert spec.evaluate({"result": {"score": {"scaled": -0.5}}}) == 0.0


@pytest.mark.parametrize(
    ("actor", "code"),
    [
        # The account-only fast path must not let a second identifier through.
        ({"account": {"homePage": "https://lms.example", "name": "p1"}}, None),
        (
            {
                "account": {"homePage": "https://lms.example", "name": "p1"},
                "mbox": "mailto:a@example.org",
            },
            "actor_ifi_count",
        ),
        (
            {
                "account": {"homePage": "https://lms.example", "name": "p1"},
                "openid": "https://id.example/p1",
            },
            "actor_ifi_count",
        ),
        ({"account": None}, "bad_account"),
        ({"account": {"homePage": "not an iri", "name": "p1"}}, "bad_account"),
        ({"account": {"homePage": "https://lms.example", "name": ""}}, "bad_account"),
        (
            {
                "objectType": "Group",
                "account": {"homePage": "https://lms.example", "name": "team"},
            },
            None,
        ),
    ],
)
def test_account_actors_are_judged_whole(
    actor: dict[str, Any], code: str | None
) -> None:
    refusal = incoming.judge_actor(actor)
    assert (refusal.code if refusal else None) == code
