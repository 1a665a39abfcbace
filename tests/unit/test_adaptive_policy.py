"""Unit: the sequencing policy's choices and their explanations."""

from __future__ import annotations

import datetime as dt

from adaptive.core.catalogue import ActivityInfo, Catalog, SkillInfo, SkillLink
from adaptive.core.decisions import AttemptRecord, Overrides, Recommendation
from adaptive.core.learner import LearnerModel
from adaptive.core.learner_types import Observation
from adaptive.core.policy import next_step
from adaptive.core.policy_explain import PolicyInput
from adaptive.core.refresh import RefreshScheduler
from adaptive.core.skill_progress import (
    PolicyConfig,
    effective_targets,
    progress_report,
)

T0 = dt.datetime(2025, 1, 6, 9, 0, tzinfo=dt.UTC)
A, B, C = 1, 2, 3


def activity(
    aid: int,
    skill: int,
    kind: str = "lesson",
    minutes: float = 8.0,
    *,
    level: int = 1,
    group: str | None = None,
    items: int = 2,
    difficulty: float = 0.0,
) -> ActivityInfo:
    return ActivityInfo(
        id=aid,
        key=f"a{aid}",
        title=f"Activity {aid}",
        kind=kind,
        duration_min=minutes,
        difficulty=difficulty,
        explanation_group=group,
        skills=(SkillLink(skill, 1.0, level),),
        n_items=items,
    )


def catalog() -> Catalog:
    skills = [
        SkillInfo(A, "a", "Alerts"),
        SkillInfo(B, "b", "Blameless reviews"),
        SkillInfo(C, "c", "Capacity"),
    ]
    acts = [
        activity(10, A, group="a1"),
        activity(11, A, "worked_example", 6.0, group="a1"),
        activity(12, A, "quiz", 5.0, items=4),
        activity(13, A, "refresher", 3.0, items=3),
        activity(20, B, group="b1"),
        activity(21, B, "worked_example", 6.0, group="b1"),
        activity(22, B, "quiz", 5.0, items=4),
        activity(30, C, group="c1"),
        activity(31, C, "lesson", 8.0, level=2, group="c2"),
    ]
    return Catalog.build(skills, acts, [(B, A)])


def master(model: LearnerModel, skill: int, at: dt.datetime = T0) -> None:
    for _ in range(3):
        model.observe(Observation(skill, 1, 1.0, at, weight=4, learn_scale=0.0))


def decide(**kwargs: object) -> Recommendation:
    defaults: dict[str, object] = {
        "catalog": catalog(),
        "role_targets": {A: 1, B: 1},
        "model": LearnerModel(),
        "now": T0,
    }
    defaults.update(kwargs)
    return next_step(PolicyInput(**defaults))  # type: ignore[arg-type]


def test_prerequisites_come_first_and_every_reason_explains_itself() -> None:
    rec = decide()
    assert rec.kind == "activity" and rec.skill_ids == (A,)
    assert rec.reason.code in {"next_gain", "check_known"}
    numbers = rec.reason.numbers
    assert {"p_target", "gain_per_min", "minutes", "target_level"} <= set(numbers)
    assert "Alerts" in rec.reason.learner_text and "Alerts" in rec.reason.manager_text
    assert rec.to_dict()["reason"]["code"] == rec.reason.code


def test_mastered_skill_is_skipped() -> None:
    model = LearnerModel()
    master(model, A)
    rec = decide(model=model)
    assert rec.skill_ids == (B,)
    assert rec.reason.numbers["skills_done"] == 1


def test_all_targets_met_means_done_and_higher_is_not_better() -> None:
    model = LearnerModel()
    master(model, A)
    master(model, B)
    rec = decide(model=model)
    assert rec.kind == "done" and rec.reason.code == "targets_met"
    # Skill C is in the catalogue (even at level 2) but not in the role: never pushed.
    assert rec.activity_id is None


def test_failure_leads_to_an_alternative_explanation_not_the_same_text() -> None:
    model = LearnerModel()
    model.observe(Observation(A, 1, 0.0, T0, weight=2))
    history = [AttemptRecord(10, T0, 0.0, (A,))]
    rec = decide(model=model, history=history)
    assert rec.activity_id != 10
    assert rec.activity_id == 11  # the same explanation group, explained differently
    assert rec.reason.code == "remediate_alternative"
    assert rec.reason.numbers["failed_activity_id"] == 10


def test_refresher_due_is_interleaved() -> None:
    model = LearnerModel()
    master(model, A)
    sched = RefreshScheduler()
    card = sched.start(A, T0, prior_knowledge=False)
    later = card.due + dt.timedelta(hours=1)
    rec = decide(model=model, refresh={A: card}, now=later, scheduler=sched)
    assert rec.kind == "refresher" and rec.activity_id == 13
    assert rec.reason.code == "refresher_due"
    assert 0 < rec.reason.numbers["retrievability"] < 1
    # Right after a refresher, new learning gets its turn.
    history = [AttemptRecord(13, later, 1.0, (A,), refresher=True)]
    rec = decide(
        model=model, refresh={A: card}, now=later, history=history, scheduler=sched
    )
    assert rec.kind == "activity" and rec.skill_ids == (B,)


def test_due_refresher_can_wait_while_gaps_remain() -> None:
    model = LearnerModel()
    master(model, A)
    sched = RefreshScheduler()
    card = sched.start(A, T0, prior_knowledge=False)
    later = card.due + dt.timedelta(hours=1)
    recall = sched.due({A: card}, later)[0].retrievability
    kwargs: dict[str, object] = {
        "model": model,
        "refresh": {A: card},
        "now": later,
        "scheduler": sched,
    }
    # Recall still above the floor: new learning on B first.
    rec = decide(config=PolicyConfig(refresh_recall_while_learning=recall), **kwargs)
    assert rec.kind == "activity" and rec.skill_ids == (B,)
    # Below the floor: the refresher goes first.
    rec = decide(
        config=PolicyConfig(refresh_recall_while_learning=recall + 0.01), **kwargs
    )
    assert rec.kind == "refresher" and rec.skill_ids == (A,)


def test_overrides_pin_skip_target_and_order() -> None:
    rec = decide(overrides=Overrides(pinned=(22,)))
    assert rec.activity_id == 22 and rec.reason.code == "pinned"
    rec = decide(
        overrides=Overrides(pinned=(22,)), history=[AttemptRecord(22, T0, 0.5, (B,))]
    )
    assert rec.reason.code != "pinned"
    rec = decide(
        overrides=Overrides(skipped_skills=frozenset({A})), role_targets={A: 1, C: 1}
    )
    assert rec.skill_ids == (C,)
    rec = decide(role_targets={C: 1}, overrides=Overrides(target_changes={C: 2}))
    assert rec.skill_ids == (C,)
    targets = effective_targets(
        {A: 1}, Overrides(added_targets={C: 2}, target_changes={A: 0})
    )
    assert set(targets) == {C} and targets[C].source == "manager"
    rec = decide(role_targets={A: 1, C: 1}, overrides=Overrides(skill_order=(C, A)))
    assert rec.skill_ids == (C,) and rec.reason.code in {"manager_order", "check_known"}


def test_time_budget_is_respected() -> None:
    rec = decide(time_budget_min=5.5)
    assert rec.activity_id is not None and rec.minutes <= 5.5
    rec = decide(time_budget_min=2)
    assert rec.kind == "stop" and rec.reason.code == "time_budget_exhausted"
    assert rec.reason.numbers["shortest_candidate_min"] == 3.0


def test_prerequisite_outside_the_role_is_taught_first() -> None:
    rec = decide(role_targets={B: 1})
    assert rec.skill_ids == (A,) and rec.reason.code == "prerequisite_first"
    assert rec.reason.numbers["needed_for"] == [B]


def test_progress_report_statuses() -> None:
    model = LearnerModel()
    master(model, A)
    targets = effective_targets({A: 1, B: 1, C: 1}, Overrides())
    rows = {r.skill_id: r for r in progress_report(catalog(), model, targets, T0)}
    assert rows[A].status == "mastered" and rows[A].estimate.p_target >= 0.95
    assert rows[B].status == "not_started"
    assert rows[C].status == "not_started"
