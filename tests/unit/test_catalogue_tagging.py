"""Unit: the activity-tagging CSV, read with line numbers and checked against a catalogue."""

from __future__ import annotations

import pytest

from adaptive.core.catalogue_format import CatalogueError
from adaptive.core.catalogue_parse import parse_catalogue
from adaptive.core.catalogue_tagging import check_tagging, parse_tagging_csv
from tests.catalogue_support import dump, minimal


def test_tagging_csv_parses_with_optional_header_and_comments() -> None:
    text = (
        "activity_key,skill_key,weight,level\n"
        "# tags from the March review\n"
        "\n"
        "alpha-lesson,beta,0.5,1\n"
        "alpha-quiz,beta,1,2\n"
    )
    rows = parse_tagging_csv(text, source_name="tags.csv")
    assert [(r.line, r.activity_key, r.skill_key, r.weight, r.level) for r in rows] == [
        (4, "alpha-lesson", "beta", 0.5, 1),
        (5, "alpha-quiz", "beta", 1.0, 2),
    ]


def test_tagging_csv_errors_carry_line_numbers() -> None:
    text = (
        "alpha-lesson,beta,0.5,1\n"
        "alpha-quiz,beta,1\n"
        "alpha-quiz,gamma,-2,two\n"
        '"alpha-example","multi\nline",1,1\n'
        "alpha-lesson,beta,1,1\n"
    )
    with pytest.raises(CatalogueError) as info:
        parse_tagging_csv(text, source_name="tags.csv")
    issues = [(i.line, i.path) for i in info.value.issues]
    assert (2, "") in issues  # wrong column count
    assert (3, "weight") in issues
    assert (3, "level") in issues
    assert (4, "skill_key") in issues  # a quoted field spanning lines starts on line 4
    duplicate = [i for i in info.value.issues if i.line == 6]
    assert duplicate and "first on line 1" in duplicate[0].message
    assert "tags.csv:2: expected 4 columns" in str(info.value)


def test_tagging_references_are_checked_against_the_catalogue() -> None:
    doc = parse_catalogue(dump(minimal()), source_name="cat.json")
    rows = parse_tagging_csv(
        "alpha-quiz,gamma,1,2\nghost,alpha,1,9\n", source_name="t.csv"
    )
    with pytest.raises(CatalogueError) as info:
        check_tagging(
            rows,
            source_name="t.csv",
            activity_keys=(a.key for a in doc.activities),
            skill_keys=(s.key for s in doc.skills),
            max_level=doc.framework.max_level,
        )
    assert [(i.line, i.path) for i in info.value.issues] == [
        (2, "activity_key"),
        (2, "level"),
    ]
    check_tagging(
        rows[:1],
        source_name="t.csv",
        activity_keys={"alpha-quiz"},
        skill_keys={"gamma"},
        max_level=3,
    )
