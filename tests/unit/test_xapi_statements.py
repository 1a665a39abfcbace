"""Building, validating and reading xAPI statements (pure)."""

from __future__ import annotations

import datetime as dt

import pytest

from xapi.core import actors, formats, incoming, profile, validation
from xapi.core import statements as st

WHEN = dt.datetime(2026, 3, 1, 12, 30, 5, 123456, tzinfo=dt.UTC)
IDENTITY = actors.Identity(
    issuer="https://canvas.instructure.com",
    deployment_id="12:abc",
    sub="sub-1",
    email="Ann@Example.com",
    name="Ann",
)


def spec(**overrides: object) -> st.StatementSpec:
    values: dict[str, object] = {
        "key": "answer:42",
        "actor": actors.build_actor(IDENTITY),
        "verb": "answered",
        "object": st.ActivityRef("https://pathwise.example/q/1", "question", "Q1"),
        "timestamp": WHEN,
        "result": st.ResultSpec(success=True, score_scaled=1.0, duration_s=42.5),
        "registration": formats.registration_uuid(1, 2, 3, 1),
        "course": st.ActivityRef("https://lms.example/course/9", "course", "SQL"),
        "parent": st.ActivityRef("https://pathwise.example/module/3", "module", "M"),
    }
    values.update(overrides)
    return st.StatementSpec(**values)  # type: ignore[arg-type]


def test_same_event_gives_byte_identical_statement() -> None:
    first = formats.serialize(st.build_statement(spec()))
    second = formats.serialize(st.build_statement(spec()))
    assert first == second
    other = st.build_statement(spec(key="answer:43"))
    assert other["id"] != st.build_statement(spec())["id"]


def test_statement_carries_profile_course_registration_and_utc_timestamp() -> None:
    statement = st.build_statement(spec())
    context = statement["context"]
    assert (
        context["contextActivities"]["category"][0]["id"] == profile.PROFILE_VERSION_IRI
    )
    assert (
        context["contextActivities"]["grouping"][0]["id"]
        == "https://lms.example/course/9"
    )
    assert context["contextActivities"]["parent"][0]["id"].endswith("/module/3")
    assert context["registration"] == formats.registration_uuid(1, 2, 3, 1)
    assert statement["timestamp"] == "2026-03-01T12:30:05.123Z"
    assert statement["result"]["duration"] == "PT42.5S"
    assert st.is_own_statement(statement)


def test_recommended_uses_our_profile_verb() -> None:
    statement = st.build_statement(
        spec(
            verb="recommended",
            result=st.ResultSpec(extensions={profile.EXT_REASON: "gap on sql"}),
        )
    )
    assert statement["verb"]["id"] == profile.PROFILE_IRI + "/verbs/recommended"
    assert validation.validate_statement(statement) == []


def test_actor_modes() -> None:
    account = actors.build_actor(IDENTITY)
    assert account["account"] == {"homePage": IDENTITY.issuer, "name": "sub-1"}
    tenanted = actors.build_actor(IDENTITY, include_deployment=True)
    assert tenanted["account"]["homePage"].endswith("/deployments/12%3Aabc")
    assert actors.build_actor(IDENTITY, mode="mbox")["mbox"] == "mailto:ann@example.com"
    no_email = actors.Identity(issuer="https://x.example", deployment_id="d", sub="s")
    assert "account" in actors.build_actor(no_email, mode="mbox")
    key = actors.actor_key(account)
    assert key == "account:https://canvas.instructure.com|sub-1"
    assert actors.actor_filter(key)["account"]["name"] == "sub-1"


def test_invalid_statements_are_refused_with_reasons() -> None:
    with pytest.raises(ValueError, match="unknown Pathwise verb"):
        st.build_statement(spec(verb="liked"))
    with pytest.raises(ValueError, match="score.scaled"):
        st.build_statement(spec(result=st.ResultSpec(score_scaled=1.5)))
    bad = st.build_statement(spec())
    bad["actor"] = {
        "mbox": "ann@example.com",
        "account": {"homePage": "x", "name": "y"},
    }
    bad["extra"] = 1
    problems = validation.validate_statement(bad)
    assert any("unknown keys" in p for p in problems)
    assert any("exactly one of" in p for p in problems)


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        formats.format_timestamp(dt.datetime(2026, 1, 1))  # noqa: DTZ001


def test_incoming_statements_are_read_leniently() -> None:
    statement = {
        "id": "6F1C2C1E-2C7E-4F3A-9A55-1C3E7C2B9A10",
        "actor": {"mbox": "mailto:A@x.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/passed"},
        "object": {"id": "https://x/y", "definition": {"type": "https://t"}},
        "stored": "2026-03-01T10:00:00.1234567Z",
        "version": "2.0.0",
        "unknownField": {"anything": True},
    }
    item = incoming.read_incoming(statement)
    assert isinstance(item, incoming.Incoming)
    assert item.id == "6f1c2c1e-2c7e-4f3a-9a55-1c3e7c2b9a10"
    assert item.actor_key == "mbox:mailto:a@x.com"
    assert item.stored == dt.datetime(2026, 3, 1, 10, 0, 0, 123456, dt.UTC)
    assert item.object_type == "https://t"
    assert incoming.read_incoming({**statement, "stored": "yesterday"}) == (
        incoming.Refusal("bad_stored", "missing or invalid stored timestamp")
    )
    assert incoming.read_incoming("text") == incoming.Refusal(
        "not_object", "not a JSON object"
    )
    voiding = {
        **statement,
        "verb": {"id": profile.VERB_VOIDED},
        "object": {"objectType": "StatementRef", "id": "AA"},
    }
    assert isinstance(incoming.read_incoming(voiding), incoming.Incoming)
