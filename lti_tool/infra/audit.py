"""Shared infrastructure: the one home of audit writing.

Every admin and manager action adds one ``audit_log`` row in the same transaction as
the change it records, so an action and its trace commit or roll back together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from lti_tool.infra.models import AuditEntry


def record_audit(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str = "",
    tenant_id: int | None = None,
    details: Mapping[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> AuditEntry:
    """Add one audit entry to ``session`` (flushed with the caller's change).

    ``at`` defaults to now; a service given a clock passes its own time, so the entry
    and the change it records carry the same timestamp.
    """
    entry = AuditEntry(
        actor=actor,
        action=action,
        target=target,
        tenant_id=tenant_id,
        details=dict(details or {}),
    )
    if at is not None:
        entry.at = at
    session.add(entry)
    return entry
