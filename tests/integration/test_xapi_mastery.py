"""Mastery-change statements: one per crossing of the target, accepted by a strict LRS."""

from __future__ import annotations

import datetime as dt
import json

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import (
    make_framework,
    make_module,
    make_person,
    make_skill,
    make_tenant,
)
from tests.lrs_fixture import LocalLrs, lrs  # noqa: F401 - fixture
from xapi.client import LrsClient
from xapi.core import profile
from xapi.core.statements import ActivityRef
from xapi.journey_models import MasteryMark
from xapi.mastery import MasteryContext, SkillStanding, announce_mastery_changes
from xapi.models import OutboxStatement

WHEN = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
REGISTRATION = "0d7c1d1c-3c6f-5d55-9a1e-5c2a8b1f6d40"


def _world(session: Session) -> tuple[object, MasteryContext, int, int]:
    tenant = make_tenant(session)
    person = make_person(session, tenant, "ann")
    framework = make_framework(session, "eng")
    sql = make_skill(session, framework, "sql")
    python = make_skill(session, framework, "python")
    module = make_module(session, framework)
    where = MasteryContext(
        module_id=module.id,
        registration=REGISTRATION,
        course=ActivityRef("https://lms.example/lti/contexts/c1", "course", "SQL"),
        parent=ActivityRef("https://pathwise.example/modules/m", "module", "M"),
    )
    return person, where, sql.id, python.id


def _standing(skill_id: int, status: str, p: float = 0.9) -> SkillStanding:
    return SkillStanding(
        skill_id=skill_id,
        skill=ActivityRef(
            f"https://pathwise.example/catalogue/eng/skills/{skill_id}", "skill", "S"
        ),
        status=status,
        level=3 if status == "mastered" else 2,
        target=3,
        p_target=p,
    )


def test_each_crossing_is_one_statement_and_recomputing_adds_none(
    db_session: Session,
) -> None:
    person, where, sql, python = _world(db_session)

    def announce(sql_status: str, python_status: str) -> list[str]:
        rows = announce_mastery_changes(
            db_session,
            person=person,  # type: ignore[arg-type]
            standings=[_standing(sql, sql_status), _standing(python, python_status)],
            where=where,
            now=WHEN,
        )
        return [r.verb for r in rows]

    assert announce("in_progress", "not_started") == []  # never mastered: silent
    assert announce("mastered", "not_started") == ["mastered"]
    assert announce("mastered", "not_started") == []  # recomputed: nothing new
    assert announce("refresh_due", "skipped") == []  # still at target; set aside
    assert announce("in_progress", "skipped") == ["lapsed"]
    assert announce("in_progress", "in_progress") == []
    assert announce("maintained", "mastered") == ["mastered", "mastered"]
    marks = db_session.scalars(select(MasteryMark)).all()
    assert sorted((m.skill_id, m.changes, m.mastered) for m in marks) == sorted(
        [(sql, 3, True), (python, 1, True)]
    )
    rows = db_session.scalars(select(OutboxStatement)).all()
    assert len(rows) == 4 == len({r.statement_id for r in rows})


def test_the_strict_lrs_accepts_mastered_and_lapsed(
    db_session: Session,
    lrs: LocalLrs,  # noqa: F811 - pytest fixture
) -> None:
    person, where, sql, _ = _world(db_session)
    for status in ("mastered", "in_progress"):
        announce_mastery_changes(
            db_session,
            person=person,  # type: ignore[arg-type]
            standings=[_standing(sql, status, p=0.95 if status == "mastered" else 0.4)],
            where=where,
            now=WHEN,
        )
    client = LrsClient(lrs.endpoint, "key", "secret")
    sent = db_session.scalars(
        select(OutboxStatement).order_by(OutboxStatement.id)
    ).all()
    assert [r.verb for r in sent] == ["mastered", "lapsed"]
    for row in sent:
        assert client.put_statement(row.statement_id, row.body) == 204
        stored = requests.get(
            lrs.endpoint + "statements",
            params={"statementId": row.statement_id},
            auth=("key", "secret"),
            headers={"X-Experience-API-Version": "1.0.3"},
            timeout=5,
        ).json()
        body = json.loads(row.body)
        assert stored["verb"]["id"] == body["verb"]["id"]
        assert stored["object"]["definition"]["type"] == profile.ACTIVITY_TYPES["skill"]
        assert stored["context"]["registration"] == REGISTRATION
        [grouping] = stored["context"]["contextActivities"]["grouping"]
        assert grouping["id"] == "https://lms.example/lti/contexts/c1"
        result = stored["result"]
        mastered = body["verb"]["id"] == profile.ADL_VERBS + "mastered"
        assert result["success"] is mastered
        assert result["extensions"][profile.EXT_TARGET_LEVEL] == 3
