"""Use case: a people CSV -> the directory, audited -> a pull of what the LRS sent earlier."""

from __future__ import annotations

from sqlalchemy.orm import Session

from lti_tool.infra.audit import record_audit
from lti_tool.infra.directory_import import ImportReport, import_people_csv
from xapi import kicks
from xapi.identity import people_with_unmatched_statements


def import_people(
    session: Session, *, tenant_id: int, text: str, dry_run: bool, actor: str
) -> ImportReport:
    """Import a people CSV into the tenant's directory, audited, then pull what the
    LRS already sent about the people it names.

    Statements of people unknown at sync time were only counted
    (``UnmatchedActor``); once the import commits, a background pull per such
    person turns them into evidence. A dry run or a file with errors writes nothing.
    """
    report = import_people_csv(session, tenant_id=tenant_id, text=text, dry_run=dry_run)
    if not report.ok or dry_run:
        return report
    record_audit(
        session,
        actor=actor,
        action="people.import",
        target=f"tenant:{tenant_id}",
        tenant_id=tenant_id,
        details={
            "rows": report.rows,
            "created": report.created,
            "updated": report.updated,
            "identities_added": report.identities_added,
        },
    )
    for person_id in people_with_unmatched_statements(
        session, tenant_id, report.person_ids
    ):
        kicks.continue_pull_after_commit(session, person_id)
    return report
