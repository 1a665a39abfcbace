"""Pure adaptive core: write a catalogue document as the JSON ``parse_catalogue`` reads.

An export round-trips: authors edit the file and import it again.
"""

from __future__ import annotations

import json
from typing import Any

from adaptive.core.catalogue_format import (
    FORMAT_NAME,
    FORMAT_VERSION,
    XAPI_ACTIVITY_ID,
    CatalogueDoc,
)


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def catalogue_to_dict(doc: CatalogueDoc) -> dict[str, Any]:
    """The canonical JSON-ready form of a catalogue (``export_catalogue`` writes it)."""
    activities = []
    for a in doc.activities:
        item: dict[str, Any] = {
            "key": a.key,
            "title": a.title,
            "type": a.type,
            "duration_min": _number(a.duration_min),
            "difficulty": _number(a.difficulty),
            "target_level": a.target_level,
        }
        if a.explanation_group is not None:
            item["explanation_group"] = a.explanation_group
        if a.url is not None:
            item["url"] = a.url
        if a.activity_id is not None:
            item["activity_id"] = a.activity_id
        item["skills"] = [
            {"skill": t.skill, "weight": _number(t.weight), "level": t.level}
            for t in a.skills
        ]
        item["content"] = {
            k: v for k, v in a.content().items() if k != XAPI_ACTIVITY_ID
        }
        activities.append(item)
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "framework": {
            "key": doc.framework.key,
            "name": doc.framework.name,
            "description": doc.framework.description,
            "scale": list(doc.framework.scale),
        },
        "skills": [
            {
                "key": s.key,
                "name": s.name,
                "description": s.description,
                "prerequisites": list(s.prerequisites),
            }
            for s in doc.skills
        ],
        "roles": [
            {
                "key": r.key,
                "name": r.name,
                "description": r.description,
                "horizon_days": r.horizon_days,
                "targets": {t.skill: t.level for t in r.targets},
            }
            for r in doc.roles
        ],
        "activities": activities,
        "modules": [
            {
                "key": m.key,
                "title": m.title,
                "description": m.description,
                "default_role": m.default_role,
                "placement_budget": m.placement_budget,
                "activities": list(m.activities),
            }
            for m in doc.modules
        ],
    }


def export_catalogue(doc: CatalogueDoc) -> str:
    """Serialise a catalogue in the format ``parse_catalogue`` reads (round-trips)."""
    return json.dumps(catalogue_to_dict(doc), indent=2, ensure_ascii=False) + "\n"
