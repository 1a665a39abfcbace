"""Adaptive services: the frameworks and modules of one catalogue scope, for operators.

Deep Linking offers modules by key, and an LMS admin adds Pathwise only after a
catalogue is loaded; `pathwise catalogue list` shows what is there to offer.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from adaptive.models import Activity, Framework, Module, Skill
from lti_tool.infra.tenancy import owned_by_scope


@dataclass(frozen=True)
class ModuleRow:
    key: str
    title: str


@dataclass(frozen=True)
class FrameworkRow:
    """One framework of the scope, with what it holds and the modules it offers."""

    key: str
    name: str
    skills: int
    activities: int
    modules: tuple[ModuleRow, ...]


def list_frameworks(session: Session, *, tenant_id: int | None) -> list[FrameworkRow]:
    """The frameworks of one scope (a tenant's, or the shared catalogue for ``None``)."""
    frameworks = session.scalars(
        select(Framework)
        .where(owned_by_scope(Framework.tenant_id, tenant_id))
        .order_by(Framework.key)
    ).all()
    rows = []
    for framework in frameworks:
        modules = session.execute(
            select(Module.key, Module.title)
            .where(Module.framework_id == framework.id)
            .order_by(Module.key)
        ).all()
        rows.append(
            FrameworkRow(
                key=framework.key,
                name=framework.name,
                skills=_count(
                    session,
                    select(func.count(Skill.id)).where(
                        Skill.framework_id == framework.id
                    ),
                ),
                activities=_count(
                    session,
                    select(func.count(Activity.id)).where(
                        Activity.framework_id == framework.id
                    ),
                ),
                modules=tuple(ModuleRow(key=k, title=t) for k, t in modules),
            )
        )
    return rows


def _count(session: Session, query: Select[int]) -> int:
    return int(session.scalar(query) or 0)
