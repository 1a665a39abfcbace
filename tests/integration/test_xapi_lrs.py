"""Against a real, strict LRS: everything we emit is accepted; the client pages for real."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
import requests

from tests.lrs_fixture import LocalLrs, lrs  # noqa: F401 - fixture
from tests.xapi_support import account, course_statement
from xapi.client import LrsClient
from xapi.core import actors, formats, profile
from xapi.core import statements as st
from xapi.lrs_errors import LrsRejected
from xapi.statement_query import StatementQuery

pytestmark = pytest.mark.lrs

WHEN = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
IDENTITY = actors.Identity(
    "https://lms.example.edu", "dep-1", "u0", "u0@example.com", "U0"
)


def every_statement_we_emit() -> list[dict[str, object]]:
    course = st.ActivityRef("https://lms.example.edu/lti/contexts/c1", "course", "SQL")
    module = st.ActivityRef(
        "https://pathwise.example/modules/sql", "module", "SQL basics"
    )
    question = st.ActivityRef("https://pathwise.example/questions/7", "question", "Q7")
    skill = st.ActivityRef("https://pathwise.example/skills/eng/sql", "skill", "SQL")
    activity = st.ActivityRef(
        "https://pathwise.example/activities/joins", "activity", "Joins"
    )
    registration = formats.registration_uuid(1, 1, 1, 1)
    results = {
        "attempted": (module, None),
        "answered": (
            question,
            st.ResultSpec(success=False, response="b", duration_s=12),
        ),
        "passed": (
            module,
            st.ResultSpec(success=True, score_scaled=0.9, completion=True),
        ),
        "failed": (
            module,
            st.ResultSpec(success=False, score_raw=3, score_min=0, score_max=10),
        ),
        "completed": (activity, st.ResultSpec(completion=True, duration_s=300.25)),
        "mastered": (
            skill,
            st.ResultSpec(extensions={profile.EXT_MASTERY: 0.96, profile.EXT_LEVEL: 3}),
        ),
        "progressed": (module, st.ResultSpec(score_scaled=0.4)),
        "recommended": (
            activity,
            st.ResultSpec(
                extensions={profile.EXT_REASON: "gap on sql joins", profile.EXT_RANK: 1}
            ),
        ),
    }
    built = []
    for mode in ("account", "mbox"):
        actor = actors.build_actor(IDENTITY, mode=mode)
        for verb, (target, result) in results.items():
            built.append(
                st.build_statement(
                    st.StatementSpec(
                        key=f"{mode}:{verb}",
                        actor=actor,
                        verb=verb,
                        object=target,
                        timestamp=WHEN,
                        result=result,
                        registration=registration,
                        course=course,
                        parent=module,
                        context_extensions={profile.EXT_TENANT: 1},
                    )
                )
            )
    return built


def test_every_statement_we_emit_is_accepted_and_stored_as_sent(
    lrs: LocalLrs,  # noqa: F811
) -> None:
    client = LrsClient(lrs.endpoint, "key", "secret")
    for statement in every_statement_we_emit():
        body = formats.serialize(statement)
        assert client.put_statement(str(statement["id"]), body) == 204
        # A retry resends the same bytes: the LRS treats it as the same statement.
        assert client.put_statement(str(statement["id"]), body) == 204
        stored = requests.get(
            lrs.endpoint + "statements",
            params={"statementId": str(statement["id"])},
            auth=("key", "secret"),
            headers={"X-Experience-API-Version": "1.0.3"},
            timeout=5,
        ).json()
        assert stored["verb"] == statement["verb"]
        context: Any = statement["context"]
        assert stored["context"]["registration"] == context["registration"]


def test_a_different_statement_under_our_id_is_a_conflict(lrs: LocalLrs) -> None:  # noqa: F811
    client = LrsClient(lrs.endpoint, "key", "secret")
    statement = every_statement_we_emit()[0]
    client.put_statement(str(statement["id"]), formats.serialize(statement))
    changed = dict(statement, timestamp="2026-03-02T09:00:00.000Z")
    with pytest.raises(LrsRejected) as info:
        client.put_statement(str(statement["id"]), formats.serialize(changed))
    assert info.value.status == 409


def test_tincan_reads_what_we_build() -> None:
    from tincan import Statement

    for statement in every_statement_we_emit():
        parsed = Statement(json.loads(formats.serialize(statement)))
        assert str(parsed.id) == statement["id"]


def test_client_pages_and_filters_on_the_real_lrs(lrs: LocalLrs) -> None:  # noqa: F811
    client = LrsClient(lrs.endpoint, "key", "secret")
    assert client.negotiate_version() == "1.0.3"
    batch = [course_statement(f"u{i % 3}", "passed") for i in range(23)]
    batch[5]["verb"] = {"id": "http://adlnet.gov/expapi/verbs/failed"}
    client.post_statements(batch)
    pages = list(client.iter_pages(StatementQuery(limit=5)))
    assert [len(p.statements) for p in pages] == [5, 5, 5, 5, 3]
    assert all(p.consistent_through is not None for p in pages)
    ids = [s["id"] for p in pages for s in p.statements]
    assert sorted(ids) == sorted(s["id"] for s in batch)
    stored = [s["stored"] for p in pages for s in p.statements]
    assert stored == sorted(stored)

    by_agent = client.get_statements(StatementQuery(agent=account("u1"), limit=100))
    assert len(by_agent.statements) == len([i for i in range(23) if i % 3 == 1])
    by_verb = client.get_statements(
        StatementQuery(verb="http://adlnet.gov/expapi/verbs/failed", limit=100)
    )
    assert [s["id"] for s in by_verb.statements] == [batch[5]["id"]]
    later = client.get_statements(
        StatementQuery(since=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))
    )
    assert later.statements == []
    missing = client.get_statements(
        StatementQuery(activity=f"https://nowhere.example/{uuid.uuid4()}", limit=10)
    )
    assert missing.statements == []
