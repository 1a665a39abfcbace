"""Adaptive services: a tenant's fitted question parameters, as the engine reads them.

``adaptive.item_training`` writes ``ItemParams``; the module snapshot puts them in its
catalogue (``adaptive.core.fitted_items``) and the evidence fold observes each stored
row with its question group's values, so a retrain changes the next decision.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive.core.catalogue import ActivityInfo, SkillLink
from adaptive.core.fitted_items import (
    FittedItem,
    default_items,
    fitted_item,
    fitted_question_items,
    group_parameters,
)
from adaptive.core.item_evidence import stored_items
from adaptive.item_models import ItemParams
from adaptive.models import Activity, ActivitySkill, Skill


def fitted_by_activity(
    session: Session, *, tenant_id: int, activity_ids: Collection[int]
) -> dict[int, dict[int, FittedItem]]:
    """activity id -> question index -> the values the engine uses (tenant's own)."""
    out: dict[int, dict[int, FittedItem]] = {}
    if not activity_ids:
        return out
    for row in session.scalars(
        select(ItemParams).where(
            ItemParams.tenant_id == tenant_id,
            ItemParams.activity_id.in_(list(activity_ids)),
        )
    ):
        out.setdefault(row.activity_id, {})[row.question] = fitted_item(
            row.difficulty, row.guess, row.slip, row.n_responses
        )
    return out


def evidence_parameters(
    session: Session, *, tenant_id: int, activity_ids: Collection[int]
) -> dict[tuple[int, int, int], FittedItem]:
    """(activity, skill, level) -> the values an evidence row of that question group
    is observed with, for activities with fitted questions only (one query when
    there are none)."""
    fitted = fitted_by_activity(session, tenant_id=tenant_id, activity_ids=activity_ids)
    if not fitted:
        return {}
    links: dict[int, list[ActivitySkill]] = {}
    for link in session.scalars(
        select(ActivitySkill).where(ActivitySkill.activity_id.in_(list(fitted)))
    ):
        links.setdefault(link.activity_id, []).append(link)
    out: dict[tuple[int, int, int], FittedItem] = {}
    for activity in session.scalars(
        select(Activity).where(Activity.id.in_(list(fitted)))
    ):
        tags = tuple(
            SkillLink(lk.skill_id, lk.weight, lk.level)
            for lk in sorted(links.get(activity.id, []), key=lambda lk: -lk.weight)
        )
        if not tags:
            continue
        questions = [
            q
            for q in (activity.content or {}).get("questions", [])
            if isinstance(q, dict)
        ]
        skill_by_key = {
            str(key): int(skill_id)
            for key, skill_id in session.execute(
                select(Skill.key, Skill.id).where(
                    Skill.framework_id == activity.framework_id
                )
            )
        }
        base = stored_items(
            questions,
            tags,
            skill_by_key,
            target_level=activity.target_level,
            difficulty=activity.difficulty,
        ) or default_items(
            ActivityInfo(
                activity.id,
                activity.key,
                activity.title,
                difficulty=activity.difficulty,
                skills=tags,
            ),
            len(questions),
        )
        items = fitted_question_items(base, fitted[activity.id])
        for (skill, level), values in group_parameters(items).items():
            out[(activity.id, skill, level)] = values
    return out
