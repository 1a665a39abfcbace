"""The console's people directory: CSV import (CSRF, dry run, errors), tenant scope,
audit, and the unknown-people report."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from admin.users import create_admin_user
from lti_tool.infra.db import session_scope
from lti_tool.infra.models import AuditEntry, Person
from tests.admin_support import csrf, sign_in
from tests.factories import make_lrs_connection, make_person, make_tenant
from xapi.models import LrsConnection, UnmatchedActor

HEADER = "external_id,name,email,lms_sub,department,manager,job_role,accounts\n"


@pytest.fixture
def tenants(app: Flask) -> tuple[int, int]:
    app.config["WTF_CSRF_ENABLED"] = True
    with session_scope() as s:
        north, south = make_tenant(s), make_tenant(s)
        create_admin_user(s, username="root", password="correct horse battery")
        create_admin_user(
            s,
            username="north-admin",
            password="correct horse battery",
            tenant_id=north.id,
        )
        make_person(s, south, "south-sub", name="Sally South")
        for tenant, key, count in (
            (north, "mbox:mailto:nia@acme.example", 7),
            (south, "mbox:mailto:sid@acme.example", 9),
        ):
            connection = make_lrs_connection(s, tenant)
            moment = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
            s.add(
                UnmatchedActor(
                    connection_id=connection.id,
                    actor_key=key,
                    statements=count,
                    first_stored=moment,
                    last_stored=moment,
                )
            )
        return north.id, south.id


def upload(
    client: FlaskClient, tenant_id: int, text: str, **extra: str
) -> tuple[int, str]:
    page = client.get("/admin/people")
    answer = client.post(
        "/admin/people",
        data={
            "csrf_token": csrf(page.data),
            "tenant_id": str(tenant_id),
            "file": (io.BytesIO(text.encode()), "people.csv"),
            **extra,
        },
        content_type="multipart/form-data",
    )
    return answer.status_code, answer.get_data(as_text=True)


def names(tenant_id: int) -> set[str]:
    with session_scope() as s:
        return {
            p.display_name
            for p in s.scalars(select(Person).where(Person.tenant_id == tenant_id))
        }


def test_admin_imports_people_with_a_dry_run_first(
    client: FlaskClient, tenants: tuple[int, int]
) -> None:
    north, _ = tenants
    sign_in(client, "root")
    text = HEADER + "N-1,Nia North,nia@acme.example,,Ops,,Lead,\n"

    status, page = upload(client, north, text, dry_run="y")
    assert status == 200 and "would import 1 rows: 1 new" in page
    assert names(north) == set()

    status, page = upload(client, north, text)
    assert status == 200 and "imported 1 rows: 1 new" in page
    assert names(north) == {"Nia North"}
    with session_scope() as s:
        entry = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "people.import")
        ).one()
        assert (entry.actor, entry.tenant_id) == ("console:root", north)


def test_a_bad_file_imports_nothing_and_lists_its_lines(
    client: FlaskClient, tenants: tuple[int, int]
) -> None:
    north, _ = tenants
    sign_in(client, "root")
    status, page = upload(
        client,
        north,
        HEADER + "N-1,Nia,nia@acme.example,,,,,\nN-2,Bad,not-mail,,,,,\n",
    )
    assert status == 400
    assert "line 3: &#39;not-mail&#39; is not an email address" in page
    assert names(north) == set()


def test_without_csrf_nothing_is_imported(
    client: FlaskClient, tenants: tuple[int, int]
) -> None:
    north, _ = tenants
    sign_in(client, "root")
    answer = client.post(
        "/admin/people",
        data={
            "tenant_id": str(north),
            "file": (
                io.BytesIO((HEADER + "N-1,Nia,nia@acme.example,,,,,\n").encode()),
                "p.csv",
            ),
        },
        content_type="multipart/form-data",
    )
    assert answer.status_code == 400
    assert names(north) == set()


def test_a_tenant_admin_sees_and_imports_only_their_tenant(
    client: FlaskClient, tenants: tuple[int, int]
) -> None:
    north, south = tenants
    sign_in(client, "north-admin")

    page = client.get("/admin/people").get_data(as_text=True)
    assert "Sally South" not in page
    # The unknown-people report is scoped too: north's unknown, not south's.
    assert "nia@acme.example" in page and "sid@acme.example" not in page

    status, _ = upload(client, south, HEADER + "S-9,Intruder,x@acme.example,,,,,\n")
    assert status == 400
    assert names(south) == {"Sally South"}


def test_unknown_people_report_ranks_identities_by_statements(
    client: FlaskClient, tenants: tuple[int, int]
) -> None:
    sign_in(client, "root")
    page = client.get("/admin/lrs/unmatched").get_data(as_text=True)
    assert page.index("sid@acme.example") < page.index("nia@acme.example")
    assert '<td data-field="statements">9</td>' in page


def test_a_tenant_admin_sees_only_their_unknown_people_report(
    client: FlaskClient, tenants: tuple[int, int]
) -> None:
    north, south = tenants
    with session_scope() as s:
        south_connection = s.scalar(
            select(LrsConnection.id).where(LrsConnection.tenant_id == south)
        )
    sign_in(client, "north-admin")
    page = client.get("/admin/lrs/unmatched").get_data(as_text=True)
    assert "nia@acme.example" in page and "sid@acme.example" not in page
    # Naming another tenant's connection is a 404, as if it did not exist.
    assert (
        client.get(f"/admin/lrs/unmatched?connection={south_connection}").status_code
        == 404
    )
