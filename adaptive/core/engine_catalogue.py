"""Pure: a decision-ready catalogue built from a parsed catalogue document."""

from __future__ import annotations

from dataclasses import dataclass

from adaptive.core.catalogue import ActivityInfo, Catalog, SkillInfo, SkillLink
from adaptive.core.catalogue_format import CatalogueDoc
from adaptive.core.module_catalogue import (
    authored_activity,
    module_probes,
    path_activities,
)
from adaptive.core.placement import ProbeTable


@dataclass(frozen=True)
class DocumentCatalogue:
    """A document as the engine sees it, built by the rules of a stored module.

    ``ids`` maps keys to the ids used here (``skill:``, ``activity:``, ``role:``
    prefixes); activity ids number every activity, placement items included, so a
    probe's ref (``"<activity id>:<question>"``) finds its activity's key.
    """

    catalog: Catalog
    probes: ProbeTable
    ids: dict[str, int]


def document_catalogue(doc: CatalogueDoc) -> DocumentCatalogue:
    """The catalogue (placement items left out) and the placement probes of a document,
    exactly as ``adaptive.module_snapshots`` builds them from the imported rows."""
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
    skill_by_key = {s.key: ids[f"skill:{s.key}"] for s in doc.skills}
    authored = []
    for j, a in enumerate(doc.activities, start=1):
        ids[f"activity:{a.key}"] = j
        links = (
            SkillLink(ids[f"skill:{t.skill}"], t.weight, t.level) for t in a.skills
        )
        info = ActivityInfo(
            id=j,
            key=a.key,
            title=a.title,
            kind=a.type,
            duration_min=a.duration_min,
            difficulty=a.difficulty,
            target_level=a.target_level,
            explanation_group=a.explanation_group,
            # Main skill first, as the stored module orders an activity's tags.
            skills=tuple(sorted(links, key=lambda link: -link.weight)),
        )
        questions = [q.to_dict() for q in a.questions]
        authored.append(authored_activity(info, questions, skill_by_key))
    for k, r in enumerate(doc.roles, start=1):
        ids[f"role:{r.key}"] = k
    order = [ids[f"activity:{a}"] for m in doc.modules[:1] for a in m.activities]
    catalog = Catalog.build(
        skills,
        path_activities(authored),
        edges,
        scale=doc.framework.scale,
        module_order=order,
    )
    return DocumentCatalogue(catalog, module_probes(authored), ids)


def catalog_from_document(doc: CatalogueDoc) -> tuple[Catalog, dict[str, int]]:
    """``document_catalogue``'s catalogue and key -> id map, for callers that need no
    placement probes."""
    built = document_catalogue(doc)
    return built.catalog, built.ids
