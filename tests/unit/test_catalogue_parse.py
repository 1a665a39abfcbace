"""Unit: reading a catalogue file (line-numbered validation) and writing it back."""

from __future__ import annotations

import copy

import pytest

from adaptive.core.catalogue_check import find_cycles
from adaptive.core.catalogue_format import CatalogueError
from adaptive.core.catalogue_parse import parse_catalogue
from adaptive.core.catalogue_write import export_catalogue
from tests.catalogue_support import dump, minimal


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the n-th line containing ``needle``."""
    seen = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return number
    raise AssertionError(f"{needle!r} not found")


def errors(text: str) -> CatalogueError:
    with pytest.raises(CatalogueError) as info:
        parse_catalogue(text, source_name="cat.json")
    return info.value


def test_minimal_catalogue_parses_with_defaults() -> None:
    doc = parse_catalogue(dump(minimal()), source_name="cat.json")
    assert [s.key for s in doc.skills] == ["alpha", "beta", "gamma"]
    assert doc.framework.max_level == 3
    lesson = doc.activity("alpha-lesson")
    assert lesson.difficulty == 0.0
    assert lesson.target_level == 1
    example = doc.activity("alpha-example")
    assert example.target_level == 2  # defaults to the highest tag level
    assert doc.modules[0].placement_budget == 8
    assert doc.roles[0].targets[0].skill == "alpha"


def test_syntax_error_reports_jsons_own_line() -> None:
    text = dump(minimal())
    broken_line = line_of(text, '"Alpha lesson"')
    lines = text.splitlines()
    lines[broken_line - 1] = lines[broken_line - 1].replace(
        '"Alpha lesson",', '"Alpha lesson",,'
    )
    err = errors("\n".join(lines))
    assert len(err.issues) == 1
    assert err.issues[0].line == broken_line
    assert "invalid JSON" in err.issues[0].message
    assert str(err).startswith(f"cat.json:{broken_line}:")


def test_unknown_prerequisite_is_reported_on_its_line() -> None:
    data = minimal()
    data["skills"][2]["prerequisites"] = ["beta", "ghost"]
    text = dump(data)
    err = errors(text)
    assert [(i.line, i.path) for i in err.issues] == [
        (line_of(text, '"ghost"'), "skills[2].prerequisites[1]")
    ]
    assert "unknown skill 'ghost'" in err.issues[0].message


def test_unknown_skill_tag_on_activity_is_reported_on_its_line() -> None:
    data = minimal()
    data["activities"][1]["skills"][1]["skill"] = "nonexistent"
    text = dump(data)
    err = errors(text)
    assert err.issues[0].line == line_of(text, '"skill": "nonexistent"')
    assert err.issues[0].path == "activities[1].skills[1].skill"
    assert "tagged on activity 'alpha-example'" in err.issues[0].message


def test_prerequisite_cycle_is_named() -> None:
    data = minimal()
    data["skills"][0]["prerequisites"] = ["gamma"]  # alpha -> gamma -> beta -> alpha
    err = errors(dump(data))
    cycle = [i for i in err.issues if "cycle" in i.message]
    assert len(cycle) == 1
    assert "alpha -> gamma -> beta -> alpha" in cycle[0].message


def test_find_cycles_reports_each_cycle_once() -> None:
    graph = {"a": ["b"], "b": ["a", "c"], "c": ["c2"], "c2": ["c"], "d": []}
    cycles = find_cycles(graph)
    assert sorted(cycles) == [["a", "b"], ["c", "c2"]]


def test_duplicate_key_points_at_both_definitions() -> None:
    data = minimal()
    data["activities"].append(copy.deepcopy(data["activities"][0]))
    text = dump(data)
    err = errors(text)
    second = line_of(text, '"key": "alpha-lesson"', occurrence=2)
    first = line_of(text, '"key": "alpha-lesson"')
    assert [(i.line, i.path) for i in err.issues] == [(second, "activities[3].key")]
    assert f"first defined on line {first}" in err.issues[0].message


def test_duplicate_json_field_is_not_silently_collapsed() -> None:
    text = dump(minimal()).replace(
        '"name": "Beta",', '"name": "Beta",\n      "name": "Beta 2",'
    )
    err = errors(text)
    assert err.issues[0].line == line_of(text, '"Beta 2"')
    assert "duplicate field 'name'" in err.issues[0].message


def test_every_problem_is_reported_at_once() -> None:
    data = minimal()
    data["roles"][0]["targets"]["zeta"] = 2
    data["roles"][0]["targets"]["alpha"] = 7
    data["activities"][0]["duration_min"] = 0
    data["activities"][1]["skills"][0]["weight"] = -1
    data["activities"][2]["skills"][0]["level"] = 0
    data["activities"][2]["content"]["questions"][0]["answer"] = 5
    data["modules"][0]["activities"].append("missing-activity")
    data["modules"][0]["default_role"] = "ceo"
    data["activities"][0]["titel"] = "typo"
    err = errors(dump(data))
    messages = "\n".join(i.message for i in err.issues)
    assert "unknown skill 'zeta' (target of role 'ic')" in messages
    assert "level 7 is outside the framework's scale (0..3)" in messages
    assert "must be more than 0 minutes" in messages
    assert "weight must be more than 0" in messages
    assert "level 0 is outside the framework's scale (1..3)" in messages
    assert "5 is not in 0..1" in messages
    assert "unknown activity 'missing-activity'" in messages
    assert "unknown role 'ceo'" in messages
    assert "unknown field 'titel'" in messages
    assert len(err.issues) == 9
    assert [i.line for i in err.issues] == sorted(i.line for i in err.issues)


def test_question_types_need_questions_and_placement_items_ask_one() -> None:
    data = minimal()
    data["activities"][2]["content"]["questions"] = []
    data["activities"].append(
        {
            "key": "place-alpha",
            "title": "Placement",
            "type": "placement_item",
            "duration_min": 1,
            "skills": [{"skill": "alpha", "level": 1}],
            "content": {
                "questions": [
                    {
                        "prompt": "Q1",
                        "options": ["a", "b"],
                        "answer": 0,
                        "explanation": "x",
                    },
                    {
                        "prompt": "Q2",
                        "options": ["a", "b"],
                        "answer": 0,
                        "explanation": "x",
                    },
                ]
            },
        }
    )
    messages = [i.message for i in errors(dump(data)).issues]
    assert "a quiz needs at least one question" in messages
    assert "a placement item asks exactly one question" in messages


def test_wrong_types_and_bad_keys_are_explained() -> None:
    data = minimal()
    data["skills"][0]["key"] = "Alpha Skill"
    data["activities"][0]["type"] = "webinar"
    data["activities"][0]["duration_min"] = "five"
    data["version"] = 2
    messages = [i.message for i in errors(dump(data)).issues]
    assert any("'Alpha Skill' is not a valid key" in m for m in messages)
    assert any("unknown type 'webinar'" in m for m in messages)
    assert "must be a number, got a string" in messages
    assert "unsupported version 2 (this Pathwise reads 1)" in messages


def test_export_round_trips() -> None:
    doc = parse_catalogue(dump(minimal()), source_name="cat.json")
    text = export_catalogue(doc)
    again = parse_catalogue(text, source_name="export.json")
    assert again == doc
    assert export_catalogue(again) == text


def _xapi_activity(**overrides: object) -> dict[str, object]:
    activity: dict[str, object] = {
        "key": "alpha-sim",
        "title": "Alpha simulation",
        "type": "xapi",
        "duration_min": 12,
        "url": "https://content.example.com/alpha/index.html",
        "activity_id": "https://content.example.com/activities/alpha-sim",
        "skills": [{"skill": "alpha", "level": 2}],
        "content": {},
    }
    activity.update(overrides)
    return activity


def test_an_xapi_activity_has_a_launch_url_and_an_activity_iri() -> None:
    data = minimal()
    data["activities"].append(_xapi_activity())
    doc = parse_catalogue(dump(data), source_name="cat.json")
    sim = doc.activity("alpha-sim")
    assert sim.type == "xapi"
    assert sim.url == "https://content.example.com/alpha/index.html"
    assert sim.activity_id == "https://content.example.com/activities/alpha-sim"
    assert sim.content()["xapi_activity_id"] == sim.activity_id
    text = export_catalogue(doc)
    assert '"activity_id": "https://content.example.com/activities/alpha-sim"' in text
    assert "xapi_activity_id" not in text
    assert parse_catalogue(text, source_name="export.json") == doc


def test_an_xapi_activity_without_its_url_or_iri_is_explained() -> None:
    data = minimal()
    no_url = _xapi_activity(key="no-url")
    del no_url["url"]
    data["activities"] += [
        no_url,
        _xapi_activity(key="no-iri", activity_id=None),
        _xapi_activity(key="bad-url", url="content/index.html"),
        _xapi_activity(key="bad-iri", activity_id="not an iri"),
    ]
    data["activities"][0]["activity_id"] = "https://x.example/a"
    messages = [i.message for i in errors(dump(data)).issues]
    assert "an xapi activity needs the https URL that launches it" in messages
    assert "an xapi activity needs the activity IRI its statements name" in messages
    assert "must be an absolute http(s) URL, got 'content/index.html'" in messages
    assert "must be an IRI (e.g. https://...), got 'not an iri'" in messages
    assert "only an activity of type 'xapi' has one" in messages
