"""People CSV import: upsert by external id or email, all rows or none, tenant-bound."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lti_tool.infra.directory import mbox_value, sha1_value
from lti_tool.infra.directory_import import import_people_csv
from lti_tool.infra.models import (
    IDENTITY_ACCOUNT,
    IDENTITY_MBOX,
    IDENTITY_MBOX_SHA1,
    AuditEntry,
    Person,
    PersonIdentity,
)
from lti_tool.usecases.people import import_people
from tests.factories import make_person, make_tenant

HEADER = "external_id,name,email,lms_sub,department,manager,job_role,accounts\n"


def people_of(session: Session, tenant_id: int) -> dict[str, Person]:
    return {
        str(p.external_id or p.sub): p
        for p in session.scalars(select(Person).where(Person.tenant_id == tenant_id))
    }


def identities_of(session: Session, person: Person) -> set[tuple[str, str]]:
    return {
        (i.kind, i.value)
        for i in session.scalars(
            select(PersonIdentity).where(PersonIdentity.person_id == person.id)
        )
    }


def test_import_creates_people_with_identities_and_managers(
    db_session: Session,
) -> None:
    tenant = make_tenant(db_session)
    text = HEADER + (
        "E1,Mia Manager,mia@acme.example,,Support,,Team lead,\n"
        "E2,Sam Agent,Sam@Acme.example;sam.a@old.example,,Support,E1,Agent,"
        "https://github.com/|sam-a;https://zendesk.acme.example|sam\n"
    )

    report = import_people_csv(db_session, tenant_id=tenant.id, text=text)

    assert report.ok, report.errors
    assert (report.created, report.updated, report.rows) == (2, 0, 2)
    people = people_of(db_session, tenant.id)
    mia, sam = people["E1"], people["E2"]
    assert sam.manager_id == mia.id
    assert (sam.email, sam.department, sam.job_role) == (
        "sam@acme.example",
        "Support",
        "Agent",
    )
    assert sam.sub is None and sam.last_seen_at is None and sam.source == "import"
    assert identities_of(db_session, sam) == {
        (IDENTITY_MBOX, "mailto:sam@acme.example"),
        (IDENTITY_MBOX_SHA1, sha1_value("sam@acme.example")),
        (IDENTITY_MBOX, "mailto:sam.a@old.example"),
        (IDENTITY_MBOX_SHA1, sha1_value("sam.a@old.example")),
        (IDENTITY_ACCOUNT, "https://github.com|sam-a"),
        (IDENTITY_ACCOUNT, "https://zendesk.acme.example|sam"),
    }


def test_reimport_upserts_by_external_id_then_by_email(db_session: Session) -> None:
    tenant = make_tenant(db_session)
    import_people_csv(
        db_session,
        tenant_id=tenant.id,
        text=HEADER + "E1,Mia,mia@acme.example,,Support,,,\n",
    )
    launched = make_person(db_session, tenant, "lms-42", email="Lee@acme.example")

    report = import_people_csv(
        db_session,
        tenant_id=tenant.id,
        text=HEADER
        + "E1,Mia Moss,mia@acme.example,,Sales,,,\n"
        + "E7,Lee Launch,lee@acme.example,,Sales,E1,,\n",
    )

    assert report.ok, report.errors
    assert (report.created, report.updated) == (0, 2)
    people = people_of(db_session, tenant.id)
    assert people["E1"].name == "Mia Moss" and people["E1"].department == "Sales"
    # Matched by email: the launched person gains the external id, no duplicate.
    assert people["E7"].id == launched.id and people["E7"].sub == "lms-42"
    assert people["E7"].manager_id == people["E1"].id
    assert (
        db_session.scalar(select(func.count()).where(Person.tenant_id == tenant.id))
        == 2
    )

    again = import_people_csv(
        db_session,
        tenant_id=tenant.id,
        text=HEADER + "E1,Mia Moss,mia@acme.example,,Sales,,,\n",
    )
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)


def test_any_error_imports_nothing_and_names_every_line(db_session: Session) -> None:
    tenant = make_tenant(db_session)
    import_people_csv(
        db_session,
        tenant_id=tenant.id,
        text=HEADER + "E1,Mia,mia@acme.example,,,,,\nE2,Sam,sam@acme.example,,,,,\n",
    )
    text = HEADER + (
        "E3,Good Row,good@acme.example,,,,,\n"  # line 2: fine on its own
        "E4,No Mail,not-an-email,,,,,\n"  # line 3
        "E1,Mia,sam@acme.example,,,,,\n"  # line 4: E1 is Mia, the email is Sam's
        "E5,Loop,loop@acme.example,,,E5,,\n"  # line 5: own manager
        "E6,Lost,lost@acme.example,,,E99,,\n"  # line 6: unknown manager
        "E3,Twice,twice@acme.example,,,,,\n"  # line 7: E3 again
        ",,,,,,,\n"  # blank row: skipped
        "E8,Bad Account,e8@acme.example,,,,,github-only\n"  # line 9
    )

    report = import_people_csv(db_session, tenant_id=tenant.id, text=text)

    assert not report.ok
    lines = sorted({int(e.split(":")[0].split()[1]) for e in report.errors})
    assert lines == [3, 4, 5, 6, 7, 9], report.errors
    assert any("two people" in e for e in report.errors)
    assert (
        db_session.scalar(select(func.count()).where(Person.tenant_id == tenant.id))
        == 2
    )
    assert "good@acme.example" not in {
        p.email for p in people_of(db_session, tenant.id).values()
    }


def test_header_errors_are_on_line_one(db_session: Session) -> None:
    tenant = make_tenant(db_session)
    report = import_people_csv(
        db_session, tenant_id=tenant.id, text="name,phone\nMia,123\n"
    )
    assert [e.split(":")[0] for e in report.errors] == ["line 1", "line 1"]
    assert "phone" in report.errors[0]


def test_dry_run_reports_and_writes_nothing(db_session: Session) -> None:
    tenant = make_tenant(db_session)
    report = import_people(
        db_session,
        tenant_id=tenant.id,
        text=HEADER + "E1,Mia,mia@acme.example,,,,,\n",
        dry_run=True,
        actor="test",
    )
    assert report.ok and report.created == 1 and report.dry_run
    assert people_of(db_session, tenant.id) == {}
    assert db_session.scalars(select(AuditEntry)).all() == []


def test_real_import_is_audited(db_session: Session) -> None:
    tenant = make_tenant(db_session)
    import_people(
        db_session,
        tenant_id=tenant.id,
        text=HEADER + "E1,Mia,mia@acme.example,,,,,\n",
        dry_run=False,
        actor="admin:mia",
    )
    entry = db_session.scalars(select(AuditEntry)).one()
    assert (entry.action, entry.tenant_id, entry.actor) == (
        "people.import",
        tenant.id,
        "admin:mia",
    )
    assert entry.details["created"] == 1


def test_import_stays_inside_its_tenant(db_session: Session) -> None:
    north, south = make_tenant(db_session), make_tenant(db_session)
    row = HEADER + "E1,Mia North,mia@acme.example,,,,,\n"
    import_people_csv(db_session, tenant_id=north.id, text=row)

    report = import_people_csv(
        db_session,
        tenant_id=south.id,
        text=HEADER + "E1,Mia South,mia@acme.example,,,,,\n",
    )

    assert report.ok and report.created == 1
    assert people_of(db_session, north.id)["E1"].name == "Mia North"
    assert people_of(db_session, south.id)["E1"].name == "Mia South"
    # A manager in another tenant is unknown here.
    refused = import_people_csv(
        db_session,
        tenant_id=south.id,
        text=HEADER + "E2,Sam,sam@acme.example,,,mia@north.example,,\n",
    )
    assert not refused.ok and "manager" in refused.errors[0]


def test_ten_thousand_rows_import_in_one_pass(db_session: Session) -> None:
    tenant = make_tenant(db_session)
    lines = [
        f"E{i},Person {i},p{i}@acme.example,,Dept {i % 20},"
        f"{'E0' if i else ''},Role,https://git.acme.example|p{i}\n"
        for i in range(10_000)
    ]
    report = import_people_csv(
        db_session, tenant_id=tenant.id, text=HEADER + "".join(lines)
    )

    assert report.ok, report.errors[:3]
    assert report.created == 10_000
    assert (
        db_session.scalar(
            select(func.count()).where(PersonIdentity.tenant_id == tenant.id)
        )
        == 30_000
    )
    assert mbox_value("p9999@acme.example") in {
        v
        for (_, v) in identities_of(
            db_session, people_of(db_session, tenant.id)["E9999"]
        )
    }


def test_unreadable_cells_are_line_errors_not_crashes(db_session: Session) -> None:
    """A cell over csv's field limit, a NUL byte or an account over its column are
    reported by line, and nothing is written (before: an exception, a 500)."""
    tenant = make_tenant(db_session)
    huge = HEADER + 'E1,"' + "a" * 200_000 + '",e1@acme.example,,,,,\n'
    report = import_people_csv(db_session, tenant_id=tenant.id, text=huge)
    assert not report.ok
    assert report.errors[0].startswith("line 2: not readable as CSV")

    nul = HEADER + "E1,Mia\x00Moss,mia@acme.example,,,,,\n"
    report = import_people_csv(db_session, tenant_id=tenant.id, text=nul)
    assert report.errors == ["line 2: a cell holds a NUL character"]

    long_account = "https://git.example/|" + "x" * 700
    text = HEADER + f"E1,Mia,mia@acme.example,,,,,{long_account}\n"
    report = import_people_csv(db_session, tenant_id=tenant.id, text=text)
    assert report.errors == ["line 2: an account is over 700 characters"]
    assert people_of(db_session, tenant.id) == {}
