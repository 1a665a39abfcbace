"""Integration: a placement question says its type, and each type is answered as typed.

A multiple-choice placement item takes a list of option indices, a short-answer one
takes text; the page renders checkboxes or a text field from the question's ``type``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive.catalogue_import import import_catalogue
from adaptive.core.catalogue_parse import parse_catalogue
from adaptive.models import Module, PlacementSession
from adaptive.placement_sessions import answer_placement, start_placement
from tests.factories import make_person, make_tenant
from tests.placement_types_support import placement_types_catalogue

NOW = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)


def test_each_placement_question_has_its_type_and_is_checked_by_it(
    db_session: Session,
) -> None:
    summary = import_catalogue(
        db_session,
        doc=parse_catalogue(placement_types_catalogue(), source_name="types.json"),
        actor="author",
    )
    tenant = make_tenant(db_session)
    person = make_person(db_session, tenant)
    module_id = db_session.scalars(
        select(Module.id).where(Module.framework_id == summary.framework_id)
    ).one()
    view = start_placement(
        db_session,
        tenant_id=tenant.id,
        person_id=person.id,
        module_id=module_id,
        now=NOW,
    )
    kinds = []
    while not view["done"]:
        question = view["question"]
        kind = question["type"]
        kinds.append(kind)
        # The right answer in the shape of each type.
        answer: Any = [2, 1] if kind == "multiple" else " Four "
        view = answer_placement(
            db_session,
            tenant_id=tenant.id,
            placement_id=view["placement_id"],
            ref=question["ref"],
            answer=answer,
            now=NOW,
        )
    assert sorted(kinds) == ["multiple", "short"]
    placement = db_session.get(PlacementSession, view["placement_id"])
    assert placement is not None
    assert [a["correct"] for a in placement.asked] == [True, True]
