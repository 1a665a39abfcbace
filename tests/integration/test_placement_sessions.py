"""Integration: the placement check through ``adaptive.placement_sessions`` (real DB)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive.models import (
    Activity,
    ActivitySkill,
    Evidence,
    LearnerSkillState,
    PlacementSession,
)
from adaptive.module_snapshots import load_module
from adaptive.next_step import next_step
from adaptive.placement_sessions import (
    STOP_SKIPPED,
    answer_placement,
    current_placement,
    placement_wanted,
    skip_placement,
    start_placement,
)
from tests.factories import make_catalogue, make_person, make_tenant

NOW = dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def world(db_session: Session) -> dict[str, Any]:
    """The factory catalogue (B needs A, targets at level 1) plus one placement item
    per skill; the module's budget is 4."""
    tenant = make_tenant(db_session, "acme")
    cat = make_catalogue(db_session, None)
    items = {}
    for skill in (cat["a"], cat["b"]):
        item = Activity(
            framework_id=cat["framework"].id,
            key=f"place-{skill.key}",
            title=f"Placement {skill.name}",
            kind="placement_item",
            duration_min=1.0,
            content={
                "questions": [{"prompt": "Q", "options": ["a", "b"], "answer": "a"}]
            },
        )
        db_session.add(item)
        db_session.flush()
        db_session.add(
            ActivitySkill(activity_id=item.id, skill_id=skill.id, weight=1.0, level=1)
        )
        items[skill.key] = item
    db_session.flush()
    person = make_person(db_session, tenant, "learner-1")
    return {"tenant": tenant, "person": person, "items": items, **cat}


def run_placement(
    db_session: Session, world: dict[str, Any], answer: str
) -> tuple[dict[str, Any], list[str]]:
    tid, pid = world["tenant"].id, world["person"].id
    view = start_placement(
        db_session, tenant_id=tid, person_id=pid, module_id=world["module"].id, now=NOW
    )
    refs = []
    while not view["done"]:
        refs.append(view["question"]["ref"])
        view = answer_placement(
            db_session,
            tenant_id=tid,
            placement_id=view["placement_id"],
            ref=view["question"]["ref"],
            answer=answer,
            now=NOW,
        )
    return view, refs


def test_placement_asks_placement_items_only(
    db_session: Session, world: dict[str, Any]
) -> None:
    snapshot = load_module(
        db_session, tenant_id=world["tenant"].id, module_id=world["module"].id
    )
    # A skill with placement items is probed by them alone, never by quiz questions.
    assert {p.ref.split(":")[0] for p in snapshot.probes.probes} == {
        str(item.id) for item in world["items"].values()
    }
    view, refs = run_placement(db_session, world, "a")
    assert 1 <= len(refs) <= 2 and len(set(refs)) == len(refs)
    assert view["stop_code"] in {"confident", "no_informative_question", "clear_cut"}
    row = db_session.get(PlacementSession, view["placement_id"])
    assert row is not None and row.finished_at == NOW
    assert [a["ref"] for a in row.asked] == refs
    assert all(a["correct"] for a in row.asked)


def test_answers_are_stored_as_evidence_and_move_the_model(
    db_session: Session, world: dict[str, Any]
) -> None:
    _, refs = run_placement(db_session, world, "a")
    pid = world["person"].id
    evidence = db_session.scalars(
        select(Evidence).where(Evidence.person_id == pid).order_by(Evidence.id)
    ).all()
    direct = [e for e in evidence if e.rule_key == "placement"]
    assert len(direct) == len(refs) and all(e.outcome == 1.0 for e in direct)
    assert {e.activity_id for e in direct} == {int(r.split(":")[0]) for r in refs}
    # A right answer on B (which needs A) is weaker evidence about A, too.
    related = [e for e in evidence if e.rule_key == "placement_related"]
    asked_b = str(world["items"]["b"].id) in {r.split(":")[0] for r in refs}
    assert bool(related) == asked_b
    assert all(e.skill_id == world["a"].id and e.weight < 1.0 for e in related)
    states = db_session.scalars(
        select(LearnerSkillState).where(LearnerSkillState.person_id == pid)
    ).all()
    assert states and all(s.p_known > 0.5 for s in states)


def test_placement_alone_does_not_finish_the_module(
    db_session: Session, world: dict[str, Any]
) -> None:
    run_placement(db_session, world, "a")
    rec = next_step(
        db_session,
        tenant_id=world["tenant"].id,
        person_id=world["person"].id,
        module_id=world["module"].id,
        now=NOW,
    )
    # Confident placement lets the loop check first; only a check can meet a target.
    assert rec.kind == "activity" and rec.activity_id is not None
    assert db_session.get(Activity, rec.activity_id).kind == "quiz"  # type: ignore[union-attr]


def test_wrong_answers_lower_the_estimate_and_a_stale_ref_is_refused(
    db_session: Session, world: dict[str, Any]
) -> None:
    view, refs = run_placement(db_session, world, "b")
    assert refs
    states = db_session.scalars(
        select(LearnerSkillState).where(
            LearnerSkillState.person_id == world["person"].id
        )
    ).all()
    assert states and all(s.p_known < 0.2 for s in states)
    with pytest.raises(ValueError, match="pending"):
        answer_placement(
            db_session,
            tenant_id=world["tenant"].id,
            placement_id=view["placement_id"],
            ref=refs[0],
            answer="a",
            now=NOW,
        )


def test_skipping_keeps_the_answers_and_is_idempotent(
    db_session: Session, world: dict[str, Any]
) -> None:
    tid, pid, mid = world["tenant"].id, world["person"].id, world["module"].id
    assert placement_wanted(db_session, tenant_id=tid, person_id=pid, module_id=mid)
    assert (
        current_placement(db_session, tenant_id=tid, person_id=pid, module_id=mid)
        is None
    )
    view = start_placement(
        db_session, tenant_id=tid, person_id=pid, module_id=mid, now=NOW
    )
    answer_placement(
        db_session,
        tenant_id=tid,
        placement_id=view["placement_id"],
        ref=view["question"]["ref"],
        answer="a",
        now=NOW,
    )
    skipped = skip_placement(
        db_session, tenant_id=tid, person_id=pid, module_id=mid, now=NOW
    )
    assert (skipped["done"], skipped["asked"], skipped["stop_code"]) == (
        True,
        1,
        STOP_SKIPPED,
    )
    later = NOW + dt.timedelta(hours=1)
    again = skip_placement(
        db_session, tenant_id=tid, person_id=pid, module_id=mid, now=later
    )
    assert again == skipped
    row = db_session.get(PlacementSession, skipped["placement_id"])
    assert row is not None and row.finished_at == NOW
    assert len(db_session.scalars(select(Evidence)).all()) >= 1  # the answer stays
    assert not placement_wanted(db_session, tenant_id=tid, person_id=pid, module_id=mid)
    assert (
        current_placement(db_session, tenant_id=tid, person_id=pid, module_id=mid)
        == skipped
    )


def test_a_skip_before_any_question_closes_an_empty_check(
    db_session: Session, world: dict[str, Any]
) -> None:
    tid, pid, mid = world["tenant"].id, world["person"].id, world["module"].id
    view = skip_placement(
        db_session, tenant_id=tid, person_id=pid, module_id=mid, now=NOW
    )
    assert (view["done"], view["asked"], view["question"]) == (True, 0, None)
    # Starting afterwards resumes the skipped check: nothing is asked.
    assert (
        start_placement(
            db_session, tenant_id=tid, person_id=pid, module_id=mid, now=NOW
        )
        == view
    )
    other = make_person(db_session, world["tenant"], "learner-2")
    assert placement_wanted(
        db_session, tenant_id=tid, person_id=other.id, module_id=mid
    )
