"""Unit tests for the shipped AI-readiness demo catalogue: valid, complete, teachable."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from importlib import resources

import pytest

from adaptive.core.catalogue_format import CatalogueDoc
from adaptive.core.catalogue_parse import parse_catalogue
from adaptive.core.catalogue_write import export_catalogue
from xapi.core.profile import EXT_SKILLS
from xapi.core.validation import validate_statement

CORE_ROLE = "individual-contributor"


@pytest.fixture(scope="module")
def demo() -> CatalogueDoc:
    text = (
        resources.files("lti_tool")
        .joinpath("demo/ai_readiness.json")
        .read_text("utf-8")
    )
    return parse_catalogue(text, source_name="ai_readiness.json")


def highest_targets(doc: CatalogueDoc) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for role in doc.roles:
        for target in role.targets:
            out[target.skill] = max(out[target.skill], target.level)
    return out


def test_demo_has_the_advertised_shape(demo: CatalogueDoc) -> None:
    assert demo.framework.name == "Generative AI proficiency"
    assert len(demo.framework.scale) == 6
    assert demo.framework.scale[0].startswith("Not yet")
    assert demo.framework.scale[5].startswith("Builds it for others")
    assert 12 <= len(demo.skills) <= 16
    assert {r.horizon_days for r in demo.roles} == {30, 60, 90}
    assert {r.key for r in demo.roles} >= {
        "individual-contributor",
        "engineer",
        "team-lead",
    }
    learning = [a for a in demo.activities if a.type != "placement_item"]
    assert 45 <= len(learning) <= 100
    assert {a.type for a in demo.activities} == {
        "lesson",
        "worked_example",
        "practice",
        "quiz",
        "refresher",
        "placement_item",
        "scenario",
        "video",
        "link",
    }
    question_types = {q.type for a in demo.activities for q in a.questions}
    assert question_types == {"single", "multiple", "short", "scenario"}
    assert [m.key for m in demo.modules] == [
        "ai-readiness-everyone",
        "ai-for-team-leads",
    ]
    assert demo.modules[0].default_role == CORE_ROLE


def test_roles_differ_because_higher_is_not_better(demo: CatalogueDoc) -> None:
    targets = {r.key: {t.skill: t.level for t in r.targets} for r in demo.roles}
    assert targets["engineer"]["building-agents"] > targets["team-lead"].get(
        "building-agents", 0
    )
    assert targets["team-lead"]["delegation-judgment"] > targets["engineer"].get(
        "delegation-judgment", 0
    )
    assert max(targets[CORE_ROLE].values()) <= 3


def test_every_targeted_level_is_taught(demo: CatalogueDoc) -> None:
    taught: dict[str, set[int]] = defaultdict(set)
    for activity in demo.activities:
        if activity.type == "placement_item":
            continue
        for tag in activity.skills:
            taught[tag.skill].add(tag.level)
    for skill, top in highest_targets(demo).items():
        missing = set(range(1, top + 1)) - taught[skill]
        assert not missing, f"{skill}: no activity teaches level(s) {sorted(missing)}"


def test_alternative_explanations_exist_for_core_skills(demo: CatalogueDoc) -> None:
    groups = Counter(
        a.explanation_group for a in demo.activities if a.explanation_group
    )
    assert all(count >= 2 for count in groups.values()), groups
    core = {t.skill for r in demo.roles if r.key == CORE_ROLE for t in r.targets}
    grouped_skills = {
        a.skills[0].skill for a in demo.activities if a.explanation_group is not None
    }
    assert core <= grouped_skills
    for group in groups:
        kinds = {a.type for a in demo.activities if a.explanation_group == group}
        assert len(kinds) >= 2, f"{group} explains one way only: {kinds}"


def test_every_skill_has_placement_items_at_two_levels(demo: CatalogueDoc) -> None:
    levels: dict[str, set[int]] = defaultdict(set)
    for activity in demo.activities:
        if activity.type == "placement_item":
            assert len(activity.questions) == 1
            assert len(activity.skills) == 1
            levels[activity.skills[0].skill].add(activity.skills[0].level)
    for skill in demo.skills:
        assert len(levels[skill.key]) >= 2, (
            f"{skill.key}: placement levels {levels[skill.key]}"
        )


def test_content_is_micro_and_substantial(demo: CatalogueDoc) -> None:
    for activity in demo.activities:
        assert 0 < activity.duration_min <= 10, activity.key
        if activity.type in {"lesson", "worked_example"}:
            paragraphs = [p for p in activity.markdown.split("\n\n") if p.strip()]
            assert len(paragraphs) >= 3, activity.key
            assert len(activity.markdown.split()) >= 150, activity.key
        if activity.type == "quiz":
            assert 3 <= len(activity.questions) <= 5, activity.key
        for question in activity.questions:
            if question.type == "single":
                assert isinstance(question.answer, int)
                assert 0 <= question.answer < len(question.options)
            assert len(question.explanation) > 20


def test_modules_respect_prerequisite_order(demo: CatalogueDoc) -> None:
    prerequisites = {s.key: set(s.prerequisites) for s in demo.skills}
    for module in demo.modules:
        first_seen: dict[str, int] = {}
        for position, key in enumerate(module.activities):
            # The first tag is what the activity is about; later tags are side effects.
            first_seen.setdefault(demo.activity(key).skills[0].skill, position)
        for skill, position in first_seen.items():
            for prerequisite in prerequisites[skill] & first_seen.keys():
                assert first_seen[prerequisite] <= position, (
                    module.key,
                    skill,
                    prerequisite,
                )


def test_demo_round_trips_through_export(demo: CatalogueDoc) -> None:
    again = parse_catalogue(export_catalogue(demo), source_name="export.json")
    assert again == demo


def test_sample_statements_are_valid_xapi_about_demo_skills(demo: CatalogueDoc) -> None:
    resource = resources.files("lti_tool").joinpath("demo/sample_statements.json")
    statements = json.loads(resource.read_text("utf-8"))
    assert len(statements) >= 10
    skill_keys = {s.key for s in demo.skills}
    for statement in statements:
        assert validate_statement(statement) == [], statement["id"]
        assert set(statement["context"]["extensions"][EXT_SKILLS]) <= skill_keys
    assert len({s["id"] for s in statements}) == len(statements)
    verbs = {s["verb"]["id"] for s in statements}
    assert "http://activitystrea.ms/schema/1.0/approve" in verbs
    assert "http://adlnet.gov/expapi/verbs/passed" in verbs
