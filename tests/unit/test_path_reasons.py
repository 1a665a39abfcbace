"""Unit: the path's reasons in plain words, the minutes, and the skill chart's geometry."""

from __future__ import annotations

import datetime as dt
from typing import Any

from adaptive.core.catalogue import ActivityInfo, Catalog, SkillInfo, SkillLink
from adaptive.models import PathOverride
from adaptive.path_evidence import SkillEvidence
from lti_tool.learner_journey.path import path_state
from lti_tool.learner_journey.path_reasons import (
    manager_reviews,
    minutes_left,
    minutes_saved,
    path_entry,
    refresher_plan,
)
from lti_tool.web.skill_charts import PAD, WIDTH, skill_chart

NOW = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)
A, B = 1, 2
LEVELS = ["Not yet: none", "Aware: knows it", "Guided: with help", "Independent: alone"]


def _activity(aid: int, skill: int, kind: str, minutes: float, level: int = 1) -> Any:
    return ActivityInfo(
        id=aid,
        key=f"a{aid}",
        title=f"Activity {aid}",
        kind=kind,
        duration_min=minutes,
        difficulty=0.0,
        explanation_group=None,
        skills=(SkillLink(skill, 1.0, level),),
        n_items=2,
    )


def catalog() -> Catalog:
    return Catalog.build(
        [SkillInfo(A, "a", "Alerts"), SkillInfo(B, "b", "Blameless reviews")],
        [
            _activity(10, A, "lesson", 8.0),
            _activity(11, A, "worked_example", 6.0),
            _activity(12, A, "quiz", 5.0),
            _activity(13, A, "refresher", 3.0),
            _activity(14, A, "lesson", 9.0, level=3),  # above the target
            _activity(15, A, "placement_item", 1.0),
            _activity(20, B, "lesson", 7.0),
            _activity(21, B, "quiz", 4.0),
        ],
        [(B, A)],
        scale=LEVELS,
    )


def row(skill: int = A, status: str = "in_progress", **extra: Any) -> dict[str, Any]:
    return {
        "skill_id": skill,
        "name": "Alerts" if skill == A else "Blameless reviews",
        "status": status,
        "target": 2,
        "target_name": LEVELS[2],
        "p_target": 0.4,
        "next_refresh_at": None,
        **extra,
    }


def entry(
    r: dict[str, Any],
    ev: SkillEvidence,
    attempted: frozenset[int] = frozenset(),
    **skips: str,
) -> dict[str, Any]:
    return path_entry(
        r,
        ev,
        catalog=catalog(),
        attempted=attempted,
        now=NOW,
        manager_skips={A: skips["note"]} if "note" in skips else {},
    )


def test_a_skill_shown_in_the_placement_check_is_skipped_for_that_reason() -> None:
    ev = SkillEvidence(A, placed=True, sources={"placement"})
    done = entry(row(status="mastered"), ev)
    assert (done["kind"], done["evidence_source"]) == ("skipped", "placement")
    assert done["reason"] == "skipped: you showed Alerts in the placement check"
    # At the check's confidence but not yet mastered: skipped, the check confirms.
    likely = entry(row(p_target=0.93), ev)
    assert likely["reason"] == (
        "skipped: you showed Alerts in the placement check (a short check confirms it)"
    )
    # Below the check's bar it is still to do.
    assert entry(row(p_target=0.6), ev)["kind"] == "to_do"
    # Once a check has been taken, the check decides, not the placement.
    checked = SkillEvidence(
        A, placed=True, attempt_outcomes=[1.0], sources={"placement", "attempts"}
    )
    assert entry(row(p_target=0.93), checked, frozenset({12}))["kind"] == "to_do"
    assert entry(row(status="mastered"), checked, frozenset({12}))["reason"] == (
        "skipped: you showed Alerts in a short check"
    )


def test_a_skill_passed_in_a_check_only_or_after_teaching() -> None:
    checked = SkillEvidence(A, attempt_outcomes=[1.0], sources={"attempts"})
    assert entry(row(status="mastered"), checked, frozenset({12}))["reason"] == (
        "skipped: you showed Alerts in a short check"
    )
    # A lesson leaves no evidence row, only its attempt: it still counts as teaching.
    # (Activity 20 teaches another skill: it does not.)
    assert entry(row(status="mastered"), checked, frozenset({12, 20}))["kind"] == (
        "skipped"
    )
    done = entry(row(status="mastered"), checked, frozenset({10, 12}))
    assert (done["kind"], done["reason"]) == (
        "done",
        "done: you reached Guided in Alerts",
    )


def test_wrong_answers_in_a_row_bring_a_different_explanation() -> None:
    two = SkillEvidence(A, attempt_outcomes=[0.0, 0.25, 1.0], sources={"attempts"})
    line = entry(row(), two)
    assert (line["kind"], line["evidence_source"]) == ("alternative", "attempts")
    assert line["reason"] == (
        "a different explanation: the last two answers on Alerts were wrong"
    )
    one = SkillEvidence(A, attempt_outcomes=[0.0, 1.0, 0.0], sources={"attempts"})
    assert entry(row(), one)["reason"] == (
        "a different explanation: the last answer on Alerts was wrong"
    )
    # A right answer last: back to the plain step.
    right = SkillEvidence(A, attempt_outcomes=[1.0, 0.0, 0.0], sources={"attempts"})
    assert entry(row(), right)["reason"] == "to do: Alerts up to Guided"


def test_a_refresher_says_when_the_skill_was_last_practised() -> None:
    ev = SkillEvidence(A, last_at=NOW - dt.timedelta(days=24, hours=3))
    line = entry(row(status="refresh_due"), ev)
    assert (line["kind"], line["reason"]) == (
        "refresher",
        "refresher: Alerts was last practised 24 days ago",
    )
    naive = SkillEvidence(A, last_at=(NOW - dt.timedelta(days=1)).replace(tzinfo=None))
    assert entry(row(status="refresh_due"), naive)["reason"].endswith("1 day ago")
    assert entry(row(status="refresh_due"), SkillEvidence(A))["reason"] == (
        "refresher: Alerts is due for review"
    )


def test_a_manager_skip_and_a_locked_skill() -> None:
    skipped = entry(row(status="skipped"), SkillEvidence(A), note="Done at work")
    assert (skipped["kind"], skipped["evidence_source"]) == ("skipped", "manager")
    assert (
        skipped["reason"] == "skipped: your manager set Alerts aside (“Done at work”)"
    )
    locked = entry(row(B, status="locked"), SkillEvidence(B))
    assert locked["reason"] == (
        "later: Blameless reviews builds on skills still ahead of you"
    )


def test_manager_reviews_read_as_sentences_with_their_notes() -> None:
    rows = [
        PathOverride(
            kind="skip_skill",
            skill_id=A,
            note="You run on-call already.",
            created_at=NOW,
        ),
        PathOverride(kind="pin", activity_id=20, note="", created_at=NOW),
    ]
    assert manager_reviews(rows, catalog()) == [
        {
            "kind": "skip_skill",
            "what": "Your manager set Alerts aside for you.",
            "note": "You run on-call already.",
            "at": "2026-12-02",
        },
        {
            "kind": "pin",
            "what": "Your manager asked you to do “Activity 20” first.",
            "note": "",
            "at": "2026-12-02",
        },
    ]


def test_the_refresher_plan_is_soonest_first_with_the_day_in_words() -> None:
    rows = [
        row(B, status="mastered", next_refresh_at="2027-02-03T09:00:00+00:00"),
        row(A, status="maintained", next_refresh_at="2027-01-12T09:00:00+00:00"),
        row(A, status="in_progress", next_refresh_at="2027-01-01T09:00:00+00:00"),
    ]
    assert refresher_plan(rows) == [
        {"skill_id": A, "name": "Alerts", "due": "2027-01-12", "when": "12 January"},
        {
            "skill_id": B,
            "name": "Blameless reviews",
            "due": "2027-02-03",
            "when": "3 February",
        },
    ]


def test_minutes_saved_count_teaching_at_or_below_the_target() -> None:
    # Lesson 8 + worked example 6; not the quiz (it still runs), the refresher,
    # the placement item or the level-3 lesson above the target.
    assert minutes_saved(catalog(), {A: 2}) == 14.0
    assert minutes_saved(catalog(), {}) == 0.0


def test_minutes_left_run_from_the_shortest_to_every_activity_of_open_skills() -> None:
    rows = [row(A, status="mastered"), row(B, status="not_started")]
    assert minutes_left(catalog(), rows) == (4.0, 11.0)
    assert minutes_left(catalog(), [row(A, status="skipped")]) == (0.0, 0.0)


def test_path_state_from_the_engines_next_step() -> None:
    def step(kind: str, code: str) -> dict[str, Any]:
        return {"kind": kind, "reason_code": code}

    assert path_state(step("done", "targets_met")) == "targets_met"
    assert path_state(step("stop", "no_activity_available")) == "blocked"
    assert path_state(step("stop", "time_budget_exhausted")) == "learning"
    assert path_state(step("activity", "next_gain")) == "learning"


def test_the_chart_places_estimate_band_and_target_on_the_level_scale() -> None:
    chart = skill_chart(
        {
            "name": "Alerts",
            "expected_level": 1.5,
            "uncertainty": 0.5,
            "level_name": LEVELS[1],
            "target": 3,
            "target_name": LEVELS[3],
            "p_target": 0.123,
        },
        levels=LEVELS,
    )
    step = (WIDTH - 2 * PAD) / 3
    assert [t.label for t in chart.ticks] == [
        "Not yet",
        "Aware",
        "Guided",
        "Independent",
    ]
    assert chart.estimate_x == round(PAD + 1.5 * step, 2)
    assert chart.band_x == round(PAD + 1.0 * step, 2)
    assert abs(chart.band_width - step) < 0.02
    assert chart.target_x == round(PAD + 3 * step, 2)
    assert chart.text == (
        "Alerts: now about Aware (give or take 0.5 levels); your role needs "
        "Independent; 12% likely you are there."
    )
    # The band never leaves the scale.
    edge = skill_chart(
        {
            "name": "Alerts",
            "expected_level": 0.2,
            "uncertainty": 1.0,
            "level_name": LEVELS[0],
            "target": 1,
            "target_name": LEVELS[1],
            "p_target": 0.0,
        },
        levels=LEVELS,
    )
    assert edge.band_x == PAD
