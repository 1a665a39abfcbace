"""Small catalogues for the engine's unit tests, built in memory (no document)."""

from __future__ import annotations

from adaptive.core.catalogue import ActivityInfo, Catalog, SkillInfo, SkillLink


def act(aid: int, kind: str, level: int, n: int, skill: int = 1) -> ActivityInfo:
    """One activity of ``kind`` on ``skill`` at ``level`` with ``n`` questions."""
    return ActivityInfo(
        aid,
        f"a{aid}",
        f"{kind} {aid}",
        kind=kind,
        skills=(SkillLink(skill, 1.0, level),),
        n_items=n,
    )


def module_catalog(acts: list[ActivityInfo], n: int = 1) -> Catalog:
    """Skills 1..n, no prerequisites, and one module of ``acts`` in their order."""
    skills = [SkillInfo(i, f"s{i}", f"Skill {i}") for i in range(1, n + 1)]
    return Catalog.build(skills, acts, [], module_order=[a.id for a in acts])


def lesson_and_quiz(skills: range, questions: int = 5) -> list[ActivityInfo]:
    """Per skill ``s`` a level-1 lesson (id ``2s - 1``) and a quiz (id ``2s``)."""
    return [
        act(2 * s - 1 + k, kind, 1, n, skill=s)
        for s in skills
        for k, (kind, n) in enumerate((("lesson", 0), ("quiz", questions)))
    ]
