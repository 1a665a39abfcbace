"""Integration tests for catalogue import/export on a real database (SQLite or Postgres)."""

from __future__ import annotations

import dataclasses
import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adaptive.activity_tagging import tag_activities
from adaptive.catalogue_export import export_catalogue_for, load_catalogue
from adaptive.catalogue_import import import_catalogue
from adaptive.core.catalogue_format import (
    CatalogueDoc,
    CatalogueError,
    SkillDoc,
    SkillTagDoc,
)
from adaptive.core.catalogue_parse import parse_catalogue
from adaptive.core.catalogue_tagging import parse_tagging_csv
from adaptive.demo_seed import demo_catalogue_text, seed_demo
from adaptive.models import (
    Activity,
    ActivitySkill,
    Framework,
    Module,
    ModuleActivity,
    RoleProfile,
    RoleTarget,
    Skill,
    SkillPrerequisite,
)
from adaptive.visibility import find_framework
from lti_tool.infra.models import AuditEntry
from tests.factories import make_tenant

COUNTED = (
    Framework,
    Skill,
    SkillPrerequisite,
    Activity,
    ActivitySkill,
    RoleProfile,
    RoleTarget,
    Module,
    ModuleActivity,
)


def counts(session: Session) -> dict[str, int]:
    return {
        model.__tablename__: session.scalar(select(func.count()).select_from(model))
        or 0
        for model in COUNTED
    }


def demo_doc() -> CatalogueDoc:
    return parse_catalogue(demo_catalogue_text(), source_name="ai_readiness.json")


def expected_counts(doc: CatalogueDoc) -> dict[str, int]:
    return {
        "frameworks": 1,
        "skills": len(doc.skills),
        "skill_prerequisites": sum(len(s.prerequisites) for s in doc.skills),
        "activities": len(doc.activities),
        "activity_skills": sum(len(a.skills) for a in doc.activities),
        "role_profiles": len(doc.roles),
        "role_targets": sum(len(r.targets) for r in doc.roles),
        "modules": len(doc.modules),
        "module_activities": sum(len(m.activities) for m in doc.modules),
    }


def canonical(doc: CatalogueDoc) -> CatalogueDoc:
    """Order set-like lists as the database returns them: prerequisites and targets
    by definition order, tags heaviest first."""
    order = {s.key: i for i, s in enumerate(doc.skills)}
    return dataclasses.replace(
        doc,
        skills=tuple(
            dataclasses.replace(
                s, prerequisites=tuple(sorted(s.prerequisites, key=order.__getitem__))
            )
            for s in doc.skills
        ),
        roles=tuple(
            dataclasses.replace(
                r, targets=tuple(sorted(r.targets, key=lambda t: order[t.skill]))
            )
            for r in doc.roles
        ),
        activities=tuple(
            dataclasses.replace(
                a, skills=tuple(sorted(a.skills, key=lambda t: -t.weight))
            )
            for a in doc.activities
        ),
    )


def test_seed_demo_imports_the_whole_catalogue(db_session: Session) -> None:
    summary = seed_demo(db_session)
    doc = demo_doc()
    assert counts(db_session) == expected_counts(doc)
    assert summary["skills"] == len(doc.skills)
    assert summary["activities"] == len(doc.activities)
    assert summary["created"] == 1 + len(doc.skills) + len(doc.roles) + len(
        doc.activities
    ) + len(doc.modules)
    framework = find_framework(db_session, key="genai-proficiency", tenant_id=None)
    assert framework is not None and len(framework.scale) == 6
    module = db_session.scalars(
        select(Module).where(Module.key == "ai-for-team-leads")
    ).one()
    role = db_session.get(RoleProfile, module.default_role_id)
    assert role is not None and role.key == "team-lead"
    assert [link.position for link in module.activity_links] == list(
        range(len(doc.modules[1].activities))
    )
    audit = db_session.scalars(
        select(AuditEntry).where(AuditEntry.action == "catalogue.import")
    )
    entry = audit.one()
    assert entry.actor == "pathwise demo"
    assert entry.details["counts"]["activities"]["created"] == len(doc.activities)


def test_reimport_is_idempotent(db_session: Session) -> None:
    seed_demo(db_session)
    before = counts(db_session)
    again = seed_demo(db_session)
    assert again["created"] == 0
    assert again["updated"] == 0
    assert counts(db_session) == before


def test_reimport_applies_changes_by_key(db_session: Session) -> None:
    doc = demo_doc()
    import_catalogue(db_session, doc=doc, actor="author")
    renamed = dataclasses.replace(doc.skills[0], name="How LLMs work")
    lesson = doc.activity("prompting-quiz")
    retagged = dataclasses.replace(
        lesson,
        title="Prompting check",
        skills=(SkillTagDoc("prompting-basics", 2.0, 3),),
    )
    module = dataclasses.replace(
        doc.modules[0], activities=tuple(reversed(doc.modules[0].activities[:3]))
    )
    changed = dataclasses.replace(
        doc,
        skills=(renamed, *doc.skills[1:]),
        activities=tuple(
            retagged if a.key == lesson.key else a for a in doc.activities
        ),
        modules=(module, doc.modules[1]),
    )
    summary = import_catalogue(db_session, doc=changed, actor="author")
    assert (summary.skills.created, summary.skills.updated) == (0, 1)
    assert (summary.activities.created, summary.activities.updated) == (0, 1)
    assert summary.modules.updated == 1
    stored = db_session.scalars(
        select(Activity).where(Activity.key == "prompting-quiz")
    ).one()
    assert stored.title == "Prompting check"
    assert [(link.weight, link.level) for link in stored.skill_links] == [(2.0, 3)]
    modules = db_session.scalars(select(Module).where(Module.key == module.key)).one()
    assert len(modules.activity_links) == 3
    exported = load_catalogue(db_session, framework_id=summary.framework_id)
    assert exported.modules[0].activities == module.activities


def test_export_round_trips_through_the_database(db_session: Session) -> None:
    summary = seed_demo(db_session)
    text = export_catalogue_for(db_session, framework_id=summary["framework_id"])
    assert parse_catalogue(text, source_name="export.json") == canonical(demo_doc())


def test_an_xapi_activity_round_trips_through_the_database(
    db_session: Session,
) -> None:
    data = json.loads(demo_catalogue_text())
    data["activities"].append(
        {
            "key": "phishing-simulation",
            "title": "Phishing simulation",
            "type": "xapi",
            "duration_min": 10,
            "url": "https://content.example.com/phishing/index.html",
            "activity_id": "https://content.example.com/activities/phishing-sim",
            "skills": [{"skill": "safe-use", "level": 2}],
            "content": {},
        }
    )
    doc = parse_catalogue(json.dumps(data), source_name="xapi.json")
    summary = import_catalogue(db_session, doc=doc, tenant_id=None, actor="test")
    stored = db_session.scalars(
        select(Activity).where(Activity.key == "phishing-simulation")
    ).one()
    assert stored.kind == "xapi"
    assert stored.url == "https://content.example.com/phishing/index.html"
    text = export_catalogue_for(db_session, framework_id=summary.framework_id)
    again = parse_catalogue(text, source_name="export.json")
    sim = again.activity("phishing-simulation")
    assert sim.activity_id == "https://content.example.com/activities/phishing-sim"
    assert sim == doc.activity("phishing-simulation")


def test_tenant_catalogues_are_separate_from_the_shared_one(
    db_session: Session,
) -> None:
    tenant_id = make_tenant(db_session).id
    seed_demo(db_session)
    summary = import_catalogue(
        db_session, doc=demo_doc(), tenant_id=tenant_id, actor="admin"
    )
    assert summary.framework.created == 1
    shared = find_framework(db_session, key="genai-proficiency", tenant_id=None)
    own = find_framework(db_session, key="genai-proficiency", tenant_id=tenant_id)
    assert shared is not None and own is not None and shared.id != own.id


def test_invalid_file_adds_nothing(db_session: Session) -> None:
    broken = demo_catalogue_text().replace('"safe-use"', '"safe_use"', 1)
    with pytest.raises(CatalogueError):
        doc = parse_catalogue(broken, source_name="broken.json")
        import_catalogue(db_session, doc=doc, actor="author")
    assert not db_session.new
    assert set(counts(db_session).values()) == {0}


def test_failure_part_way_rolls_the_whole_import_back(db_session: Session) -> None:
    seed_demo(db_session)
    before = counts(db_session)
    doc = demo_doc()
    renamed = dataclasses.replace(doc.skills[0], name="Renamed before the failure")
    extra = SkillDoc("brand-new-skill", "Brand new", "", ("genai-foundations",))
    # Skills and roles are written before activities; this activity then fails the import.
    bad = dataclasses.replace(doc.activities[0], skills=(SkillTagDoc("ghost", 1.0, 1),))
    failing = dataclasses.replace(
        doc,
        skills=(renamed, *doc.skills[1:], extra),
        activities=(bad, *doc.activities[1:]),
    )
    with pytest.raises(KeyError):
        import_catalogue(db_session, doc=failing, actor="author")
    assert counts(db_session) == before
    assert (
        db_session.scalars(select(Skill).where(Skill.key == "brand-new-skill")).first()
        is None
    )
    first = db_session.scalars(
        select(Skill).where(Skill.key == doc.skills[0].key)
    ).one()
    assert first.name == doc.skills[0].name
    assert db_session.scalar(select(func.count()).select_from(AuditEntry)) == 1


def test_import_into_a_missing_tenant_leaves_nothing(db_session: Session) -> None:
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        import_catalogue(db_session, doc=demo_doc(), tenant_id=987654, actor="author")
    assert set(counts(db_session).values()) == {0}


def test_csv_tagging_updates_tags_and_reports_unknown_keys(db_session: Session) -> None:
    summary = seed_demo(db_session)
    rows = parse_tagging_csv(
        "activity_key,skill_key,weight,level\n"
        "research-quiz,evaluating-outputs,0.5,2\n"
        "research-quiz,research-assistants,1,2\n",
        source_name="tags.csv",
    )
    result = tag_activities(
        db_session,
        framework_id=summary["framework_id"],
        rows=rows,
        source_name="tags.csv",
        actor="author",
    )
    assert (result.created, result.updated, result.unchanged) == (1, 0, 1)
    activity = db_session.scalars(
        select(Activity).where(Activity.key == "research-quiz")
    ).one()
    assert len(activity.skill_links) == 2
    bad = parse_tagging_csv("research-quiz,ghost-skill,1,2\n", source_name="bad.csv")
    before = counts(db_session)
    with pytest.raises(CatalogueError) as info:
        tag_activities(
            db_session,
            framework_id=summary["framework_id"],
            rows=bad,
            source_name="bad.csv",
            actor="author",
        )
    assert str(info.value) == "bad.csv:1: skill_key: unknown skill 'ghost-skill'"
    assert counts(db_session) == before
