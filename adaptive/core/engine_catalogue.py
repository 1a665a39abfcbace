"""Pure: a decision-ready catalogue built from a parsed catalogue document."""

from __future__ import annotations

from adaptive.core.answers import SCORED_TYPES
from adaptive.core.catalogue import (
    ActivityInfo,
    Catalog,
    ItemInfo,
    SkillInfo,
    SkillLink,
)
from adaptive.core.catalogue_format import CatalogueDoc


def catalog_from_document(doc: CatalogueDoc) -> tuple[Catalog, dict[str, int]]:
    """A decision-ready catalogue from a parsed document, ids numbered from 1.

    Returns the catalogue and the key -> id map of skills, activities and roles
    (prefixed ``skill:``, ``activity:``, ``role:``) so callers can translate back.
    """
    ids: dict[str, int] = {}
    skills = []
    for i, s in enumerate(doc.skills, start=1):
        ids[f"skill:{s.key}"] = i
        skills.append(SkillInfo(id=i, key=s.key, name=s.name))
    edges = [
        (ids[f"skill:{s.key}"], ids[f"skill:{p}"])
        for s in doc.skills
        for p in s.prerequisites
    ]
    activities = []
    for j, a in enumerate(doc.activities, start=1):
        ids[f"activity:{a.key}"] = j
        activities.append(
            ActivityInfo(
                id=j,
                key=a.key,
                title=a.title,
                kind=a.type,
                duration_min=a.duration_min,
                difficulty=a.difficulty,
                target_level=a.target_level,
                explanation_group=a.explanation_group,
                skills=tuple(
                    SkillLink(ids[f"skill:{t.skill}"], t.weight, t.level)
                    for t in a.skills
                ),
                n_items=sum(1 for q in a.questions if q.type in SCORED_TYPES),
                items=tuple(
                    ItemInfo(ids[f"skill:{q.skill}"], q.level, q.difficulty)
                    for q in a.question_tags()
                ),
            )
        )
    for k, r in enumerate(doc.roles, start=1):
        ids[f"role:{r.key}"] = k
    order = [ids[f"activity:{a}"] for m in doc.modules[:1] for a in m.activities]
    catalog = Catalog.build(
        skills, activities, edges, scale=doc.framework.scale, module_order=order
    )
    return catalog, ids
