"""Naming a tenant: `pathwise tenants list`, and --tenant by id, LMS deployment id or
name, refused when it could mean more than one tenant."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from lti_tool.infra.config import Settings
from lti_tool.infra.db import session_scope
from lti_tool.infra.tenant_directory import TenantNotFound, find_tenant, list_tenants
from tests.admin_support import run_cli
from tests.factories import make_registration, make_tenant
from xapi.models import LrsConnection


def test_a_tenant_is_found_by_id_deployment_id_or_name(db_session: Session) -> None:
    lms = make_registration(db_session, "acme", issuer="https://acme.example")
    sales = make_tenant(
        db_session, registration=lms, deployment_id="d-17", name="Sales"
    )
    other = make_tenant(db_session, registration=lms, deployment_id="d-18", name="Ops")
    assert find_tenant(db_session, str(sales.id)) == sales.id
    assert find_tenant(db_session, "d-17") == sales.id
    assert find_tenant(db_session, "Ops") == other.id
    assert find_tenant(db_session, "name:Sales") == sales.id
    with pytest.raises(TenantNotFound, match="no tenant 'Marketing'"):
        find_tenant(db_session, "Marketing")
    rows = {row.id: row for row in list_tenants(db_session)}
    assert (
        rows[sales.id].issuer,
        rows[sales.id].deployment_id,
        rows[sales.id].name,
    ) == (
        "https://acme.example",
        "d-17",
        "Sales",
    )


def test_a_reference_that_fits_two_tenants_is_refused(db_session: Session) -> None:
    first = make_tenant(db_session, deployment_id="1")
    # Another LMS reuses the deployment id "1": a plain number is the tenant id
    # (what `tenants list` prints first), "deployment:1" fits both and is refused.
    second = make_tenant(db_session, deployment_id="1", name="Second")
    assert find_tenant(db_session, str(first.id)) == first.id
    assert find_tenant(db_session, str(second.id)) == second.id
    with pytest.raises(TenantNotFound, match="names several tenants") as refused:
        find_tenant(db_session, "deployment:1")
    assert f"{first.id} (deployment '1')" in str(refused.value)
    assert "id:N, deployment:ID or name:NAME" in str(refused.value)
    third = make_tenant(db_session, deployment_id="shared-dep", name="Third")
    fourth = make_tenant(db_session, deployment_id="shared-dep", name="Fourth")
    with pytest.raises(TenantNotFound, match="names several tenants"):
        find_tenant(db_session, "shared-dep")
    assert find_tenant(db_session, "name:Fourth") == fourth.id
    assert find_tenant(db_session, f"id:{third.id}") == third.id


def test_tenants_list_and_lrs_add_by_deployment_id(
    app: Flask, settings: Settings, engine: Engine
) -> None:
    with session_scope() as session:
        lms = make_registration(session, "moodle", issuer="https://moodle.example")
        tenant = make_tenant(
            session, registration=lms, deployment_id="dep-42", name="Engineering"
        ).id
    listing = run_cli(settings, engine, ["tenants", "list"])
    assert listing.exit_code == 0, listing.output
    assert f"{tenant}\thttps://moodle.example\tdep-42\tEngineering\t" in listing.output
    added = run_cli(
        settings,
        engine,
        ["lrs", "add", "--tenant", "dep-42", "--endpoint", "http://127.0.0.1:9/xAPI/"]
        + ["--username", "k", "--password-stdin"],
        stdin="s\n",
    )
    assert added.exit_code == 0, added.output
    with session_scope() as session:
        assert session.scalars(select(LrsConnection.tenant_id)).all() == [tenant]
    unknown = run_cli(
        settings,
        engine,
        ["lrs", "add", "--tenant", "nope", "--endpoint", "http://127.0.0.1:9/xAPI/"]
        + ["--username", "k", "--password-stdin"],
        stdin="s\n",
    )
    assert unknown.exit_code == 2
    assert "no tenant 'nope'" in unknown.output
    assert "pathwise tenants list" in unknown.output


def test_a_number_that_is_also_another_tenants_deployment_id_warns(
    app: Flask, settings: Settings, engine: Engine
) -> None:
    """`--tenant N` stays tenant id N, but says which other tenant N also names."""
    with session_scope() as session:
        first = make_tenant(session, deployment_id="first-dep", name="First").id
        # A Moodle deployment id is a small number: this one is the first's id.
        second = make_tenant(session, deployment_id=str(first), name="Moodle").id
    listed = run_cli(settings, engine, ["people", "list", "--tenant", str(first)])
    assert listed.exit_code == 0, listed.output
    assert f"--tenant {first} is tenant id {first}, but tenant {second}" in (
        listed.output
    )
    assert f"--tenant id:{second}" in listed.output
    quiet = run_cli(settings, engine, ["people", "list", "--tenant", f"id:{first}"])
    assert quiet.exit_code == 0, quiet.output
    assert "Warning" not in quiet.output
