"""xAPI: who a tenant and its people are to an LRS: identity, sending connection, actor.

Read on every launch and every emitted statement, so it is cached per configuration
revision (exact: a changed connection or registration moves the stamp).
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_tool.infra import revision
from lti_tool.infra.models import Deployment, Person, Registration
from xapi.core import actors
from xapi.models import ACTOR_MBOX, LrsConnection

# Read on every launch and every emitted statement; exact via the revision stamp.
_TENANT_CONFIG = revision.RevisionCache(revision.CONFIG, size=4096)


def tenant_identity(session: Session, tenant_id: int) -> tuple[str, str]:
    def read() -> tuple[str, str]:
        row = session.execute(
            select(Registration.issuer, Deployment.deployment_id)
            .join(Deployment, Deployment.registration_id == Registration.id)
            .where(Deployment.id == tenant_id)
        ).one()
        return str(row[0]), str(row[1])

    return _TENANT_CONFIG.get(session, ("identity", tenant_id), read)


def active_connections(session: Session, tenant_id: int) -> list[LrsConnection]:
    return revision.cached_rows(
        _TENANT_CONFIG,
        session,
        ("connections", tenant_id),
        lambda: session.scalars(
            select(LrsConnection)
            .where(LrsConnection.tenant_id == tenant_id, LrsConnection.active.is_(True))
            .order_by(LrsConnection.id)
        ).all(),
    )


def sending_connection(session: Session, *, tenant_id: int) -> LrsConnection | None:
    """The connection our statements go to: the tenant's oldest active sending one."""
    return next(
        (c for c in active_connections(session, tenant_id) if c.send_statements),
        None,
    )


def actor_for_person(
    session: Session, *, person: Person, connection: LrsConnection | None = None
) -> dict[str, Any]:
    """The xAPI actor for a person, per the (sending) connection's actor mode."""
    issuer, deployment_id = tenant_identity(session, person.tenant_id)
    if connection is None:
        connection = sending_connection(session, tenant_id=person.tenant_id)
    identity = actors.Identity(
        issuer=issuer,
        deployment_id=deployment_id,
        sub=person.sub,
        email=person.email,
        name=person.display_name,
    )
    if connection is None:
        return actors.build_actor(identity)
    return actors.build_actor(
        identity,
        mode="mbox" if connection.actor_mode == ACTOR_MBOX else "account",
        include_deployment=connection.home_page_includes_deployment,
        home_page=connection.home_page_override,
    )


def person_actor_keys(
    session: Session, connection: LrsConnection, person: Person
) -> list[str]:
    issuer, deployment_id = tenant_identity(session, person.tenant_id)
    home = actors.account_home_page(
        issuer,
        deployment_id,
        include_deployment=connection.home_page_includes_deployment,
        override=connection.home_page_override,
    )
    keys = [f"account:{home}|{person.sub}"]
    if connection.actor_mode == ACTOR_MBOX and person.email:
        mailto = "mailto:" + person.email.strip().lower()
        keys.append("mbox:" + mailto)
        keys.append("sha1:" + hashlib.sha1(mailto.encode()).hexdigest())  # noqa: S324
    return keys
