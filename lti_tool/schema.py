"""Composition root: the whole schema, every package's tables in one metadata.

Alembic and the test fixtures need every table registered on ``Base.metadata``; the
shared infrastructure cannot import the packages above it, so the entry layer does.
"""

from __future__ import annotations

from sqlalchemy import MetaData

import adaptive.item_models
import adaptive.mentor_models
import adaptive.models
import adaptive.submission_models
import lti_tool.infra.models
import lti_tool.infra.revision
import lti_tool.lti.grade_models
import xapi.journey_models
import xapi.models
from lti_tool.infra.db import Base

# Imported for their side effect of registering tables on Base.metadata.
_TABLE_MODULES = (
    lti_tool.infra.revision,
    lti_tool.infra.models,
    lti_tool.lti.grade_models,
    adaptive.models,
    adaptive.item_models,
    adaptive.mentor_models,
    adaptive.submission_models,
    xapi.models,
    xapi.journey_models,
)


def full_metadata() -> MetaData:
    """``Base.metadata`` with every package's tables registered."""
    return Base.metadata
