"""Shared infrastructure: import a people directory from CSV, all rows or none.

An HR export names people before they ever launch Pathwise, so their work evidence
has someone to attach to. Every row is checked against the file and the tenant's
directory first; only a file without a single error is written (upsert by external
id, else by email, else by LMS account), so a half-imported org chart never exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from lti_tool.infra.db import utcnow
from lti_tool.infra.directory import email_identities, normalise_email
from lti_tool.infra.directory_csv import MAX_ERRORS, CsvRow, parse_people_csv
from lti_tool.infra.models import (
    IDENTITY_ACCOUNT,
    PERSON_SOURCE_IMPORT,
    Person,
    PersonIdentity,
)


@dataclass
class ImportReport:
    """What an import did (or, in a dry run or with errors, would have done)."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    identities_added: int = 0
    dry_run: bool = False
    errors: list[str] = field(default_factory=list)
    # People created or changed: their earlier unmatched statements can now be pulled.
    person_ids: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        verb = "would import" if self.dry_run or self.errors else "imported"
        return (
            f"{verb} {self.rows} rows: {self.created} new, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.identities_added} identities added"
        )


class _Directory:
    """The tenant's people and identities, held in memory for one import."""

    def __init__(self, session: Session, tenant_id: int) -> None:
        self.people = {
            p.id: p
            for p in session.scalars(
                select(Person).where(Person.tenant_id == tenant_id)
            )
        }
        self.by_external = {
            p.external_id: p for p in self.people.values() if p.external_id
        }
        self.by_sub = {p.sub: p for p in self.people.values() if p.sub}
        # (kind, value) -> person id: listed identities and people's own emails.
        self.identity_owner: dict[tuple[str, str], int] = {}
        for p in self.people.values():
            email = normalise_email(p.email) if p.email else None
            if email is not None:
                for pair in email_identities(email):
                    self.identity_owner.setdefault(pair, p.id)
        for person_id, kind, value in session.execute(
            select(
                PersonIdentity.person_id, PersonIdentity.kind, PersonIdentity.value
            ).where(PersonIdentity.tenant_id == tenant_id)
        ):
            self.identity_owner[(str(kind), str(value))] = int(person_id)

    def by_email(self, email: str) -> Person | None:
        owner = self.identity_owner.get(email_identities(email)[0])
        return self.people.get(owner) if owner is not None else None


def _match(rows: list[CsvRow], directory: _Directory, errors: list[str]) -> None:
    """Find each row's directory entry; refuse rows that point at two people."""
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        claims = [("external_id", row.external_id)] if row.external_id else []
        claims += [("email", e) for e in row.emails]
        claims += [("lms_sub", row.sub)] if row.sub else []
        claims += [("account", a) for a in row.accounts]
        for claim in claims:
            if claim in seen:
                errors.append(
                    f"line {row.line}: {claim[0]} {claim[1]!r} is also on line "
                    f"{seen[claim]}"
                )
            else:
                seen[claim] = row.line
        candidates: list[tuple[str, Person]] = []
        if row.external_id and row.external_id in directory.by_external:
            candidates.append(("external_id", directory.by_external[row.external_id]))
        for email in row.emails:
            found = directory.by_email(email)
            if found is not None:
                candidates.append((f"email {email}", found))
        if row.sub and row.sub in directory.by_sub:
            candidates.append(("lms_sub", directory.by_sub[row.sub]))
        for account in row.accounts:
            owner = directory.identity_owner.get((IDENTITY_ACCOUNT, account))
            if owner is not None:
                candidates.append((f"account {account}", directory.people[owner]))
        distinct = {p.id for _, p in candidates}
        if len(distinct) > 1:
            named = ", ".join(
                f"{what} is {p.display_name} (#{p.id})" for what, p in candidates
            )
            errors.append(f"line {row.line}: the row names two people: {named}")
            continue
        row.person = candidates[0][1] if candidates else None
        person = row.person
        if person is None:
            continue
        if row.external_id and person.external_id not in (None, row.external_id):
            errors.append(
                f"line {row.line}: {person.display_name} already has external_id "
                f"{person.external_id!r}"
            )
        if row.sub and person.sub not in (None, row.sub):
            errors.append(
                f"line {row.line}: {person.display_name} already has an LMS account "
                "with another lms_sub"
            )


def _resolve_managers(
    rows: list[CsvRow], directory: _Directory, errors: list[str]
) -> dict[int, str]:
    """Row line -> the manager reference, checked to exist in the file or directory."""
    in_file = {r.external_id for r in rows if r.external_id}
    in_file |= {e for r in rows for e in r.emails}
    refs: dict[int, str] = {}
    for row in rows:
        if not row.manager:
            continue
        ref = normalise_email(row.manager) or row.manager
        own = {row.external_id, *row.emails} - {""}
        if ref in own:
            errors.append(f"line {row.line}: a person cannot be their own manager")
        elif (
            ref not in in_file
            and ref not in directory.by_external
            and directory.by_email(ref) is None
        ):
            errors.append(
                f"line {row.line}: manager {row.manager!r} is neither in the file nor "
                "in the directory (use their external_id or email)"
            )
        else:
            refs[row.line] = ref
    return refs


def import_people_csv(
    session: Session,
    *,
    tenant_id: int,
    text: str,
    dry_run: bool = False,
) -> ImportReport:
    """Check a people CSV against the tenant's directory, then upsert all of it.

    Nothing is written when any row has an error (the report lists them, by line)
    or in a dry run. The caller owns the transaction.
    """
    report = ImportReport(dry_run=dry_run)
    rows = parse_people_csv(text, report.errors)
    report.rows = len(rows)
    directory = _Directory(session, tenant_id)
    # Row errors do not stop the checks: one pass names every bad line.
    _match(rows, directory, report.errors)
    managers = _resolve_managers(rows, directory, report.errors)
    if len(report.errors) > MAX_ERRORS:
        extra = len(report.errors) - MAX_ERRORS
        report.errors = report.errors[:MAX_ERRORS] + [f"... and {extra} more errors"]
    _count(rows, directory, report)
    if report.errors or dry_run:
        return report
    _write(session, tenant_id, rows, directory, managers, report)
    return report


def _new_identities(row: CsvRow, directory: _Directory) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for email in row.emails:
        pairs.extend(email_identities(email))
    pairs.extend((IDENTITY_ACCOUNT, a) for a in row.accounts)
    return [p for p in pairs if p not in directory.identity_owner]


def _changes(row: CsvRow, person: Person) -> dict[str, str]:
    wanted = {
        "external_id": row.external_id,
        "name": row.name,
        "sub": row.sub,
        "department": row.department,
        "job_role": row.job_role,
        "email": row.emails[0] if row.emails and not person.email else "",
    }
    return {k: v for k, v in wanted.items() if v and getattr(person, k) != v}


def _count(rows: list[CsvRow], directory: _Directory, report: ImportReport) -> None:
    for row in rows:
        report.identities_added += len(_new_identities(row, directory))
        if row.person is None:
            report.created += 1
        elif _changes(row, row.person) or _new_identities(row, directory):
            report.updated += 1
        else:
            report.unchanged += 1


def _write(
    session: Session,
    tenant_id: int,
    rows: list[CsvRow],
    directory: _Directory,
    managers: dict[int, str],
    report: ImportReport,
) -> None:
    """Apply a checked file: changed people by the ORM, new ones, their identities
    and managers in bulk statements (10,000 rows must not mean 10,000 INSERTs)."""
    now = utcnow()
    ids: dict[int, int] = {}  # line -> person id
    for row in rows:
        if row.person is not None:
            for attribute, value in _changes(row, row.person).items():
                setattr(row.person, attribute, value)
            ids[row.line] = row.person.id
    session.flush()
    fresh = [row for row in rows if row.person is None]
    if fresh:
        values = [
            {
                "tenant_id": tenant_id,
                "sub": row.sub or None,
                "external_id": row.external_id or None,
                "name": row.name,
                "email": row.emails[0] if row.emails else None,
                "department": row.department,
                "job_role": row.job_role,
                "source": PERSON_SOURCE_IMPORT,
                "created_at": now,
            }
            for row in fresh
        ]
        created = session.scalars(
            insert(Person).returning(Person.id, sort_by_parameter_order=True), values
        ).all()
        ids.update(zip((row.line for row in fresh), created, strict=True))
    identity_rows = [
        {
            "tenant_id": tenant_id,
            "person_id": ids[row.line],
            "kind": kind,
            "value": value,
            "created_at": now,
        }
        for row in rows
        for kind, value in _new_identities(row, directory)
    ]
    for start in range(0, len(identity_rows), 1000):
        session.execute(insert(PersonIdentity), identity_rows[start : start + 1000])
    by_ref = {key: p.id for key, p in directory.by_external.items()}
    for row in rows:
        for key in (row.external_id, *row.emails):
            if key:
                by_ref[key] = ids[row.line]
    new_managers: list[dict[str, int]] = []
    for row in rows:
        wanted = managers.get(row.line)
        if wanted is None:
            continue
        known = directory.by_email(wanted)
        manager_id = by_ref.get(wanted) or (known.id if known else None)
        if manager_id is None:
            continue
        if row.person is None:
            new_managers.append({"id": ids[row.line], "manager_id": manager_id})
        elif row.person.manager_id != manager_id:
            row.person.manager_id = manager_id
    if new_managers:
        session.execute(update(Person), new_managers)
    session.flush()
    report.person_ids = sorted(set(ids.values()))
