"""Adaptive services: seed the shipped AI-readiness demo catalogue (idempotent).

The demo file ships inside the ``lti_tool`` package, so seeding works from a source
tree and from an installed wheel alike.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from sqlalchemy.orm import Session

from adaptive.catalogue_import import import_catalogue
from adaptive.core.catalogue_parse import parse_catalogue

DEMO_PACKAGE = "lti_tool"
DEMO_RESOURCE = "demo/ai_readiness.json"
DEMO_ACTOR = "pathwise demo"


def demo_catalogue_text() -> str:
    """The shipped demo catalogue (works from a source tree and an installed wheel)."""
    return (
        resources.files(DEMO_PACKAGE)
        .joinpath(DEMO_RESOURCE)
        .read_text(encoding="utf-8")
    )


def seed_demo(session: Session) -> dict[str, Any]:
    """Import the AI-readiness demo catalogue into the shared catalogue (idempotent)."""
    doc = parse_catalogue(demo_catalogue_text(), source_name=DEMO_RESOURCE)
    summary = import_catalogue(session, doc=doc, tenant_id=None, actor=DEMO_ACTOR)
    return summary.brief()
