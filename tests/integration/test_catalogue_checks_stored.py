"""Integration tests: the catalogue check and per-question tags on a real database."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adaptive.activity_tagging import tag_activities
from adaptive.attempts import record_attempt
from adaptive.catalogue_export import export_catalogue_for
from adaptive.catalogue_import import import_catalogue
from adaptive.core.catalogue import ItemInfo
from adaptive.core.catalogue_format import CatalogueError
from adaptive.core.catalogue_parse import parse_catalogue
from adaptive.core.catalogue_tagging import parse_tagging_csv
from adaptive.core.question_tagging import parse_question_csv
from adaptive.demo_seed import demo_catalogue_text
from adaptive.models import Activity, ActivitySkill, Evidence, Framework, Module
from adaptive.module_snapshots import load_module
from adaptive.question_tags import tag_questions
from tests.factories import make_catalogue, make_person, make_tenant

NOW = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)


def _demo() -> dict[str, object]:
    data: dict[str, object] = json.loads(demo_catalogue_text())
    return data


def _quiz_with_two_skills(data: dict[str, object]) -> tuple[str, str, str]:
    """Tag a demo quiz's first question with another skill; (quiz, own, other)."""
    activities = data["activities"]
    assert isinstance(activities, list)
    quiz = next(a for a in activities if a["type"] == "quiz")
    own = quiz["skills"][0]["skill"]
    skills = data["skills"]
    assert isinstance(skills, list)
    other = next(s["key"] for s in skills if s["key"] != own)
    quiz["content"]["questions"][0].update(skill=other, level=1, difficulty=-0.5)
    return quiz["key"], own, other


def test_question_tags_round_trip_and_reach_the_engine_snapshot(
    db_session: Session,
) -> None:
    data = _demo()
    quiz_key, own, other = _quiz_with_two_skills(data)
    doc = parse_catalogue(json.dumps(data, indent=2), source_name="tagged.json")
    summary = import_catalogue(db_session, doc=doc, actor="author")

    text = export_catalogue_for(db_session, framework_id=summary.framework_id)
    assert (
        parse_catalogue(text, source_name="export.json").activity(quiz_key).questions
        == doc.activity(quiz_key).questions
    )

    module_id = db_session.scalars(
        select(Module.id).where(Module.framework_id == summary.framework_id)
    ).first()
    assert module_id is not None
    snapshot = load_module(
        db_session, tenant_id=make_tenant(db_session).id, module_id=module_id
    )
    quiz = db_session.scalars(
        select(Activity).where(
            Activity.framework_id == summary.framework_id, Activity.key == quiz_key
        )
    ).one()
    items = snapshot.catalog.activities[quiz.id].items
    ids = {s.key: s.id for s in snapshot.catalog.skills.values()}
    assert items[0] == ItemInfo(ids[other], 1, -0.5)
    assert all(item.skill_id == ids[own] for item in items[1:])


def test_an_unreachable_target_refuses_the_whole_import(db_session: Session) -> None:
    data = _demo()
    activities = data["activities"]
    assert isinstance(activities, list)
    roles = data["roles"]
    assert isinstance(roles, list)
    skill, level = next(iter(roles[0]["targets"].items()))
    # Every check of that skill is gone: its target can no longer be verified.
    data["activities"] = [
        a
        for a in activities
        if not (
            a["skills"][0]["skill"] == skill and a["type"] in {"quiz", "placement_item"}
        )
    ]
    modules = data["modules"]
    assert isinstance(modules, list)
    kept = {a["key"] for a in data["activities"]}
    for module in modules:
        module["activities"] = [k for k in module["activities"] if k in kept]
    doc = parse_catalogue(json.dumps(data, indent=2), source_name="broken.json")
    before = db_session.scalar(select(func.count()).select_from(Framework))
    with pytest.raises(CatalogueError) as caught:
        import_catalogue(db_session, doc=doc, actor="author")
    messages = [i.message for i in caught.value.issues]
    assert any(
        m.startswith(f"{skill} has no assessment at level {level} or above")
        for m in messages
    ), messages
    assert doc.skill(skill).line in {i.line for i in caught.value.issues}
    assert db_session.scalar(select(func.count()).select_from(Framework)) == before


def test_question_csv_tags_are_stored_exported_and_cleared(db_session: Session) -> None:
    data = _demo()
    doc = parse_catalogue(json.dumps(data, indent=2), source_name="demo.json")
    summary = import_catalogue(db_session, doc=doc, actor="author")
    quiz = next(a for a in doc.activities if a.type == "quiz" and len(a.questions) > 1)
    other = next(s.key for s in doc.skills if s.key != quiz.skills[0].skill)
    text = (
        "activity_key,question,skill_key,level,difficulty\n"
        f"{quiz.key},1,{other},1,1.5\n"
    )
    rows = parse_question_csv(text, source_name="q.csv")
    result = tag_questions(
        db_session,
        framework_id=summary.framework_id,
        rows=rows,
        source_name="q.csv",
        actor="author",
    )
    assert (result.updated, result.unchanged) == (1, 0)
    exported = parse_catalogue(
        export_catalogue_for(db_session, framework_id=summary.framework_id)
    ).activity(quiz.key)
    assert exported.questions[1].skill == other
    assert (exported.questions[1].level, exported.questions[1].difficulty) == (1, 1.5)
    assert exported.questions[0] == quiz.questions[0]

    again = tag_questions(
        db_session,
        framework_id=summary.framework_id,
        rows=rows,
        source_name="q.csv",
        actor="author",
    )
    assert (again.updated, again.unchanged) == (0, 1)
    cleared = parse_question_csv(
        f"activity_key,question,skill_key,level,difficulty\n{quiz.key},1,,,\n"
    )
    tag_questions(
        db_session,
        framework_id=summary.framework_id,
        rows=cleared,
        source_name="q.csv",
        actor="author",
    )
    back = parse_catalogue(
        export_catalogue_for(db_session, framework_id=summary.framework_id)
    ).activity(quiz.key)
    assert back.questions == quiz.questions


def test_an_attempt_is_evidence_on_each_question_s_own_skill_and_level(
    db_session: Session,
) -> None:
    tenant = make_tenant(db_session)
    cat = make_catalogue(db_session, tenant.id)
    quiz = cat["acts"]["quiz-a"]  # four questions on skill a, level 1; answer "a"
    questions = [dict(q) for q in quiz.content["questions"]]
    questions[2].update(skill="b")
    questions[3].update(skill="a", level=2)
    quiz.content = {**quiz.content, "questions": questions}
    db_session.flush()
    person = make_person(db_session, tenant)

    attempt = record_attempt(
        db_session,
        tenant_id=tenant.id,
        person_id=person.id,
        activity_id=quiz.id,
        answers=["a", "b", "b"],  # the fourth left unanswered
        now=NOW,
    )

    # The attempt's score counts it wrong; the evidence leaves it out (it says
    # nothing about the learner), as the engine's own update does.
    assert attempt.score == 0.25
    rows = db_session.scalars(
        select(Evidence).where(Evidence.activity_id == quiz.id)
    ).all()
    got = {(r.skill_id, r.level, r.outcome, r.weight) for r in rows}
    a, b = cat["a"].id, cat["b"].id
    assert got == {(a, 1, 0.5, 2.0), (b, 1, 0.0, 1.0)}
    assert len({(r.statement_id, r.skill_id) for r in rows}) == 2


def test_an_untagged_quiz_keeps_one_row_per_activity_tag(db_session: Session) -> None:
    tenant = make_tenant(db_session)
    cat = make_catalogue(db_session, tenant.id)
    quiz = cat["acts"]["quiz-a"]
    person = make_person(db_session, tenant)
    record_attempt(
        db_session,
        tenant_id=tenant.id,
        person_id=person.id,
        activity_id=quiz.id,
        answers=["a", "a", "b", "b"],
        now=NOW,
    )
    rows = db_session.scalars(
        select(Evidence).where(Evidence.activity_id == quiz.id)
    ).all()
    assert [(r.skill_id, r.level, r.outcome, r.weight) for r in rows] == [
        (cat["a"].id, 1, 0.5, 4.0)
    ]


def _two_skill_catalogue() -> str:
    def activity(key: str, kind: str, skill: str) -> dict[str, object]:
        content: dict[str, object] = {"markdown": key}
        if kind == "quiz":
            content["questions"] = [
                {"prompt": "?", "options": ["x", "y"], "answer": 0, "explanation": "."}
            ]
        return {
            "key": key,
            "title": key,
            "type": kind,
            "duration_min": 5,
            "skills": [{"skill": skill, "weight": 1, "level": 1}],
            "content": content,
        }

    data = {
        "format": "pathwise-catalogue",
        "version": 1,
        "framework": {"key": "two", "name": "Two", "scale": ["Not yet", "Aware"]},
        "skills": [{"key": "a", "name": "A"}, {"key": "b", "name": "B"}],
        "roles": [{"key": "dev", "name": "Dev", "targets": {"a": 1, "b": 1}}],
        "activities": [
            activity(f"{kind}-{skill}", kind, skill)
            for skill in ("a", "b")
            for kind in ("lesson", "quiz")
        ],
    }
    return json.dumps(data, indent=2)


def test_tags_that_leave_a_target_unreachable_are_refused(db_session: Session) -> None:
    doc = parse_catalogue(_two_skill_catalogue(), source_name="two.json")
    summary = import_catalogue(db_session, doc=doc, actor="author")
    fw_id = summary.framework_id
    quiz_a = db_session.scalars(
        select(Activity).where(Activity.framework_id == fw_id, Activity.key == "quiz-a")
    ).one()
    # A heavier tag makes "b" the quiz's main skill: nothing would check "a" any more.
    rows = parse_tagging_csv("quiz-a,b,2,1\n", source_name="tags.csv")
    with pytest.raises(CatalogueError) as caught:
        tag_activities(
            db_session, framework_id=fw_id, rows=rows, source_name="tags.csv", actor="x"
        )
    (issue,) = caught.value.issues
    assert issue.line == 1
    assert "after these tags, a has no assessment at level 1 or above" in issue.message
    links = db_session.scalars(
        select(ActivitySkill).where(ActivitySkill.activity_id == quiz_a.id)
    ).all()
    assert [(lk.skill_id, lk.weight) for lk in links] == [
        (quiz_a.skill_links[0].skill_id, 1.0)
    ]

    fine = tag_activities(
        db_session,
        framework_id=fw_id,
        rows=parse_tagging_csv("quiz-a,b,0.5,1\n", source_name="tags.csv"),
        source_name="tags.csv",
        actor="x",
    )
    assert fine.created == 1
