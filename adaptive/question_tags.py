"""Adaptive services: store per-question skill, level and difficulty from a checked CSV.

The tags live in the question rows of ``Activity.content`` (where the catalogue file
puts them), so an export writes them back and the module snapshot reads them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive.core.question_tagging import QuestionTagRow, check_question_tags
from adaptive.models import Activity, Framework, Skill
from lti_tool.infra.audit import record_audit


@dataclass
class QuestionTagSummary:
    framework_id: int
    updated: int = 0
    unchanged: int = 0


def tag_questions(
    session: Session,
    *,
    framework_id: int,
    rows: Sequence[QuestionTagRow],
    source_name: str,
    actor: str,
    tenant_id: int | None = None,
) -> QuestionTagSummary:
    """Set each listed question's own tags (an empty cell clears one); all or nothing.

    Raises:
        CatalogueError: rows naming unknown activities, questions or skills, or
            levels outside the scale, with their CSV line numbers; nothing changes.
    """
    framework = session.get(Framework, framework_id)
    if framework is None:
        raise LookupError(f"no framework with id {framework_id}")
    skill_keys = set(
        session.scalars(select(Skill.key).where(Skill.framework_id == framework_id))
    )
    activities = {
        a.key: a
        for a in session.scalars(
            select(Activity).where(Activity.framework_id == framework_id)
        )
    }
    check_question_tags(
        rows,
        source_name=source_name,
        questions_of={
            key: len((a.content or {}).get("questions", []))
            for key, a in activities.items()
        },
        skill_keys=skill_keys,
        max_level=len(framework.scale) - 1,
    )
    summary = QuestionTagSummary(framework_id)
    with session.begin_nested():
        for row in rows:
            activity = activities[row.activity_key]
            content: dict[str, Any] = dict(activity.content or {})
            questions = [dict(q) for q in content.get("questions", [])]
            question = questions[row.question]
            before = dict(question)
            for name, value in (
                ("skill", row.skill_key),
                ("level", row.level),
                ("difficulty", row.difficulty),
            ):
                if value is None:
                    question.pop(name, None)
                else:
                    question[name] = value
            if question == before:
                summary.unchanged += 1
                continue
            content["questions"] = questions
            # A new dict, so the JSON column sees the change.
            activity.content = content
            summary.updated += 1
        record_audit(
            session,
            tenant_id=tenant_id,
            actor=actor,
            action="catalogue.tag_questions",
            target=f"framework:{framework.key}",
            details={"source": source_name, **asdict(summary)},
        )
        session.flush()
    return summary
