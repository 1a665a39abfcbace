"""Integration: the stored module and the engine API are one engine (issue 9).

The benches judge Pathwise through the pure engine API (``Engine.from_document``);
learners get the database-backed services (``module_snapshots``, ``attempts``,
``placement_sessions``, ``next_step``). These tests import one catalogue, compare the
two catalogues and probe tables, then replay one scripted learner through both,
step by step: the same placement questions, the same decisions with the same
reasons, and the same beliefs after every answer.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive.attempts import record_attempt
from adaptive.catalogue_import import import_catalogue
from adaptive.core.catalogue import ActivityInfo, Catalog
from adaptive.core.catalogue_parse import parse_catalogue
from adaptive.core.engine import Engine
from adaptive.core.engine_catalogue import document_catalogue
from adaptive.core.mastery import KIND_ACTIVITY, KIND_REFRESHER
from adaptive.learner_context import learner_in_module
from adaptive.models import Activity, Module
from adaptive.module_snapshots import load_module
from adaptive.next_step import next_step
from adaptive.placement_sessions import answer_placement, start_placement
from tests.factories import make_person, make_tenant

NOW = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
SKILLS = {"a": [], "b": ["a"], "c": []}


def _question(i: int, **tags: Any) -> dict[str, Any]:
    return {
        "prompt": f"Question {i}?",
        "options": ["right", "wrong"],
        "answer": 0,
        "explanation": "Because.",
        **tags,
    }


def _activity(
    key: str,
    kind: str,
    skill: str,
    level: int,
    questions: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    content: dict[str, Any] = {"markdown": f"{key} text"}
    if questions:
        content["questions"] = questions
    return {
        "key": key,
        "title": key,
        "type": kind,
        "duration_min": 1 if kind == "placement_item" else 6,
        "skills": [{"skill": skill, "weight": 1, "level": level}],
        "content": content,
        **extra,
    }


def _document() -> dict[str, Any]:
    """Three skills; a quiz whose questions carry their own skill, level and
    difficulty; a two-skill practice; placement items for a and b, none for c
    (c is probed with its check's first question)."""
    three = [_question(i) for i in range(3)]
    activities = [
        _activity("a-lesson-1", "lesson", "a", 1),
        _activity("a-quiz-1", "quiz", "a", 1, three, difficulty=0.3),
        _activity("a-lesson-2", "lesson", "a", 2, group="a2"),
        _activity("a-example-2", "worked_example", "a", 2, group="a2"),
        _activity(
            "a-quiz-2",
            "quiz",
            "a",
            2,
            [
                _question(0, difficulty=0.8),
                _question(1),
                _question(2, skill="b", level=1),
                _question(3),
            ],
        ),
        _activity("b-lesson-1", "lesson", "b", 1),
        {
            **_activity("b-practice-1", "practice", "b", 1, [_question(0)]),
            "skills": [
                {"skill": "b", "weight": 1, "level": 1},
                {"skill": "a", "weight": 0.5, "level": 2},
            ],
        },
        _activity("b-quiz-1", "quiz", "b", 1, three),
        _activity("c-lesson-1", "lesson", "c", 1),
        _activity("c-quiz-1", "quiz", "c", 1, three, difficulty=-0.4),
        _activity("place-a-1", "placement_item", "a", 1, [_question(0)]),
        _activity("place-a-2", "placement_item", "a", 2, [_question(0)]),
        _activity("place-b-1", "placement_item", "b", 1, [_question(0)]),
    ]
    for a in activities:
        if "group" in a:
            a["explanation_group"] = a.pop("group")
    return {
        "format": "pathwise-catalogue",
        "version": 1,
        "framework": {
            "key": "parity",
            "name": "Parity",
            "scale": ["Not yet", "Aware", "Uses it"],
        },
        "skills": [
            {"key": k, "name": k.upper(), "prerequisites": p} for k, p in SKILLS.items()
        ],
        "roles": [{"key": "dev", "name": "Dev", "targets": {"a": 2, "b": 1, "c": 1}}],
        "activities": activities,
        "modules": [
            {
                "key": "parity-module",
                "title": "Parity",
                "default_role": "dev",
                "placement_budget": 3,
                "activities": [a["key"] for a in activities],
            }
        ],
    }


def _view(catalog: Catalog, key_of_skill: dict[int, str]) -> dict[str, Any]:
    """A catalogue with its ids replaced by keys, to compare two numberings."""

    def activity(a: ActivityInfo) -> tuple[Any, ...]:
        return (
            a.kind,
            a.duration_min,
            a.difficulty,
            a.target_level,
            a.explanation_group,
            a.n_items,
            tuple((key_of_skill[lk.skill_id], lk.weight, lk.level) for lk in a.skills),
            tuple(
                (key_of_skill[i.skill_id], i.level, i.difficulty, i.guess, i.slip)
                for i in a.items
            ),
        )

    keys = {a.id: a.key for a in catalog.activities.values()}
    return {
        "activities": {a.key: activity(a) for a in catalog.activities.values()},
        "order": [keys[i] for i in catalog.module_order if i in keys],
        "edges": {
            key_of_skill[s]: sorted(key_of_skill[p] for p in ps)
            for s, ps in catalog.graph.prerequisites.items()
        },
        "scale": catalog.scale,
    }


class _Pair:
    """One learner, stored and simulated, driven in lock step."""

    def __init__(self, session: Session) -> None:
        self.session = session
        text = json.dumps(_document(), indent=1)
        doc = parse_catalogue(text, source_name="parity.json")
        summary = import_catalogue(session, doc=doc, actor="author")
        self.tenant = make_tenant(session)
        self.person = make_person(session, self.tenant)
        module_id = session.scalars(
            select(Module.id).where(Module.framework_id == summary.framework_id)
        ).one()
        self.module_id = module_id
        self.snapshot = load_module(
            session, tenant_id=self.tenant.id, module_id=module_id
        )
        self.built = document_catalogue(doc)
        self.engine = Engine.from_document(doc)
        targets = {"a": 2, "b": 1, "c": 1}
        self.learner = self.engine.start(
            {self.built.ids[f"skill:{k}"]: t for k, t in targets.items()}
        )
        self.doc_activity = {
            v: k.split(":", 1)[1]
            for k, v in self.built.ids.items()
            if k.startswith("activity:")
        }
        rows = _activities(session, summary.framework_id)
        self.stored_activity_key = {a.id: key for key, a in rows.items()}
        self.n_questions = {
            a.id: len((a.content or {}).get("questions", [])) for a in rows.values()
        }
        self.skill_keys = (
            {s.id: s.key for s in self.snapshot.catalog.skills.values()},
            {s.id: s.key for s in self.built.catalog.skills.values()},
        )

    def stored_ref(self, ref: str) -> str:
        activity, index = ref.split(":")
        return f"{self.stored_activity_key[int(activity)]}:{index}"

    def doc_ref(self, ref: str) -> str:
        activity, index = ref.split(":")
        return f"{self.doc_activity[int(activity)]}:{index}"

    def beliefs(
        self, now: dt.datetime
    ) -> tuple[dict[tuple[str, int], float], dict[tuple[str, int], float]]:
        _, state, role = learner_in_module(
            self.session,
            tenant_id=self.tenant.id,
            person_id=self.person.id,
            module_id=self.module_id,
        )
        assert role is not None
        stored_names, doc_names = self.skill_keys
        stored = {
            (stored_names[s], level): p
            for s, t in role.targets.items()
            for level, p in enumerate(state.model.estimate(s, t, now).level_probs)
        }
        simulated = {
            (doc_names[e.skill_id], level): p
            for e in self.engine.skill_estimates(self.learner, now)
            for level, p in enumerate(e.level_probs)
        }
        return stored, simulated


def _activities(session: Session, framework_id: int) -> dict[str, Activity]:
    return {
        a.key: a
        for a in session.scalars(
            select(Activity).where(Activity.framework_id == framework_id)
        )
    }


def _right(step: int, index: int) -> bool:
    """The scripted learner: about two answers in three right, not in a pattern the
    engine could share."""
    return (3 * step + 5 * index) % 7 not in (0, 3)


def test_the_stored_module_is_the_engine_api_s_catalogue(db_session: Session) -> None:
    pair = _Pair(db_session)
    stored = _view(pair.snapshot.catalog, pair.skill_keys[0])
    simulated = _view(pair.built.catalog, pair.skill_keys[1])
    assert stored == simulated
    # Placement items are placement questions only, never path steps.
    assert not any(k.startswith("place-") for k in stored["activities"])
    stored_probes = {
        (pair.skill_keys[0][p.skill_id], p.level, pair.stored_ref(p.ref), p.difficulty)
        for p in pair.snapshot.probes.probes
    }
    simulated_probes = {
        (pair.skill_keys[1][p.skill_id], p.level, pair.doc_ref(p.ref), p.difficulty)
        for p in pair.built.probes.probes
    }
    assert stored_probes == simulated_probes
    # c has no placement item: its check's first question stands in.
    assert ("c", 1, "c-quiz-1:0", -0.4) in stored_probes


@pytest.mark.parametrize("placement_answers", [(True, True, False), ()])
def test_one_learner_replayed_through_both_takes_the_same_path(
    db_session: Session, placement_answers: tuple[bool, ...]
) -> None:
    pair = _Pair(db_session)
    tenant_id, person_id = pair.tenant.id, pair.person.id
    now = NOW
    if placement_answers:
        view = start_placement(
            db_session,
            tenant_id=tenant_id,
            person_id=person_id,
            module_id=pair.module_id,
            now=now,
        )
        check = pair.engine.start_placement(pair.learner, budget=3)
        for correct in placement_answers:
            step = pair.engine.placement_step(pair.learner, check, now)
            if step.choice is None:
                assert view["done"]
                break
            ref = view["question"]["ref"]
            assert pair.stored_ref(ref) == pair.doc_ref(step.choice.probe.ref)
            view = answer_placement(
                db_session,
                tenant_id=tenant_id,
                placement_id=view["placement_id"],
                ref=ref,
                answer=0 if correct else 1,
                now=now,
            )
            pair.engine.answer_placement(
                pair.learner, check, step.choice.probe.ref, correct=correct, at=now
            )
            stored, simulated = pair.beliefs(now)
            assert stored == pytest.approx(simulated, abs=1e-9)
        assert check.asked, "the placement check asked nothing"
    steps: list[str] = []
    for n in range(40):
        now = NOW + dt.timedelta(minutes=10 * (n + 1))
        rec = next_step(
            db_session,
            tenant_id=tenant_id,
            person_id=person_id,
            module_id=pair.module_id,
            now=now,
        )
        sim = pair.engine.next_step(pair.learner, now)
        stored_step = (
            rec.kind,
            pair.stored_activity_key.get(rec.activity_id or -1),
            rec.reason.code,
        )
        simulated_step = (
            sim.kind,
            pair.doc_activity.get(sim.activity_id or -1),
            sim.reason.code,
        )
        assert stored_step == simulated_step, f"step {n}: {steps}"
        steps.append(f"{stored_step[1]} ({stored_step[2]})")
        if rec.kind not in (KIND_ACTIVITY, KIND_REFRESHER):
            break
        assert rec.activity_id is not None and sim.activity_id is not None
        n_questions = pair.n_questions[rec.activity_id]
        right = [_right(n, i) for i in range(n_questions)]
        record_attempt(
            db_session,
            tenant_id=tenant_id,
            person_id=person_id,
            activity_id=rec.activity_id,
            answers=[0 if r else 1 for r in right],
            now=now,
            module_id=pair.module_id,
            refresher=rec.kind == KIND_REFRESHER,
        )
        pair.engine.record_attempt(
            pair.learner,
            sim.activity_id,
            at=now,
            responses=right or None,
            refresher=sim.kind == KIND_REFRESHER,
        )
        stored, simulated = pair.beliefs(now)
        assert stored == pytest.approx(simulated, abs=1e-9), f"after {steps}"
    assert len(steps) >= 3
