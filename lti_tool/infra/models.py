"""Persistence for the LTI side: registrations, tenants (deployments), keys, people, audit."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_tool.infra import revision
from lti_tool.infra.db import Base, utcnow

UNKNOWN_DEPLOYMENT_REJECT = "reject"
UNKNOWN_DEPLOYMENT_AUTO = "auto_register"

ROLE_LEARNER = "learner"
ROLE_INSTRUCTOR = "instructor"
ROLE_ADMIN = "admin"


class Registration(Base):
    """One LMS registration: an issuer and a client_id (Canvas: one issuer, many client_ids)."""

    __tablename__ = "registrations"
    __table_args__ = (UniqueConstraint("issuer", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    platform_kind: Mapped[str] = mapped_column(String(40), default="other")
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(255))
    auth_login_url: Mapped[str] = mapped_column(String(1000))
    auth_token_url: Mapped[str] = mapped_column(String(1000))
    auth_audience: Mapped[str | None] = mapped_column(String(1000), default=None)
    key_set_url: Mapped[str | None] = mapped_column(String(1000), default=None)
    # A static JWKS for platforms without a key set URL.
    key_set: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    unknown_deployment_policy: Mapped[str] = mapped_column(
        String(20), default=UNKNOWN_DEPLOYMENT_REJECT
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    deployments: Mapped[list[Deployment]] = relationship(
        back_populates="registration", cascade="all, delete-orphan"
    )


class Deployment(Base):
    """A deployment of a registration: the tenant boundary for every learner's data."""

    __tablename__ = "deployments"
    __table_args__ = (UniqueConstraint("registration_id", "deployment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE")
    )
    deployment_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(200), default="")
    auto_registered: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    registration: Mapped[Registration] = relationship(back_populates="deployments")


class ToolKey(Base):
    """A tool signing key; private half encrypted at rest, public half published in JWKS."""

    __tablename__ = "tool_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    private_key_encrypted: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Set when a newer key takes over signing; stays published until retire_after.
    superseded_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    retire_after: Mapped[dt.datetime | None] = mapped_column(default=None)


PERSON_SOURCE_LAUNCH = "launch"
PERSON_SOURCE_IMPORT = "import"
PERSON_SOURCE_ROSTER = "roster"

IDENTITY_ACCOUNT = "account"
IDENTITY_MBOX = "mbox"
IDENTITY_MBOX_SHA1 = "mbox_sha1sum"
IDENTITY_KINDS = (IDENTITY_ACCOUNT, IDENTITY_MBOX, IDENTITY_MBOX_SHA1)


class Person(Base):
    """Someone in a tenant's people directory: launched, imported or on an LMS roster.

    ``sub`` is the LTI account in the tenant's LMS, NULL until it is known (an HR
    import names people before they launch); ``external_id`` is the organisation's
    own id (HR number). Emails and other systems' accounts are ``PersonIdentity`` rows.
    """

    __tablename__ = "people"
    __table_args__ = (
        UniqueConstraint("tenant_id", "sub"),
        UniqueConstraint("tenant_id", "external_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE")
    )
    sub: Mapped[str | None] = mapped_column(String(255), default=None)
    external_id: Mapped[str | None] = mapped_column(String(255), default=None)
    name: Mapped[str] = mapped_column(String(300), default="")
    given_name: Mapped[str] = mapped_column(String(200), default="")
    family_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    department: Mapped[str] = mapped_column(String(200), default="", server_default="")
    job_role: Mapped[str] = mapped_column(String(200), default="", server_default="")
    manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), default=None, index=True
    )
    # Where the row came from first: launch, import (CSV) or roster (NRPS).
    source: Mapped[str] = mapped_column(
        String(20), default=PERSON_SOURCE_LAUNCH, server_default=PERSON_SOURCE_LAUNCH
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # NULL for a directory entry that has not launched Pathwise yet.
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    @property
    def display_name(self) -> str:
        full = self.name or " ".join(
            p for p in (self.given_name, self.family_name) if p
        )
        fallback = self.external_id or (self.sub or "")[:8]
        return full or self.email or f"Learner {fallback}"


class PersonIdentity(Base):
    """One way other systems name a person: an email (mbox and its SHA-1) or an account.

    ``value`` is normalised: ``mailto:`` plus the lower-cased email, the SHA-1 hex of
    that, or ``homePage|name`` with the homePage's trailing slash removed. Unique per
    tenant, so two directory entries can never claim the same identity.
    """

    __tablename__ = "person_identities"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE")
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(700))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Course(Base):
    """An LTI context (course) inside a tenant."""

    __tablename__ = "courses"
    __table_args__ = (UniqueConstraint("tenant_id", "context_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE")
    )
    context_id: Mapped[str] = mapped_column(String(255))
    label: Mapped[str] = mapped_column(String(200), default="")
    title: Mapped[str] = mapped_column(String(500), default="")


class Enrolment(Base):
    """A person's LTI role in a course, as last seen in a launch or the LMS roster."""

    __tablename__ = "enrolments"
    __table_args__ = (UniqueConstraint("person_id", "course_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20), default=ROLE_LEARNER)
    # NRPS membership status (Active, Inactive); a launch means Active.
    status: Mapped[str] = mapped_column(
        String(20), default="Active", server_default="Active"
    )
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ResourceLink(Base):
    """A placement of Pathwise in a course, bound to one adaptive module."""

    __tablename__ = "resource_links"
    __table_args__ = (UniqueConstraint("tenant_id", "resource_link_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE")
    )
    course_id: Mapped[int | None] = mapped_column(
        ForeignKey("courses.id", ondelete="SET NULL"), default=None
    )
    resource_link_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(500), default="")
    module_id: Mapped[int | None] = mapped_column(
        ForeignKey("modules.id", ondelete="SET NULL"), default=None
    )
    # AGS endpoint claim of the last launch (lineitem URL, scopes), for grade passback.
    ags_endpoint: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    nrps_endpoint: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class Launch(Base):
    """A validated launch: who, where, as what; the launch token refers to it."""

    __tablename__ = "launches"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE")
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    course_id: Mapped[int | None] = mapped_column(
        ForeignKey("courses.id", ondelete="SET NULL"), default=None
    )
    resource_link_pk: Mapped[int | None] = mapped_column(
        ForeignKey("resource_links.id", ondelete="SET NULL"), default=None
    )
    role: Mapped[str] = mapped_column(String(20))
    lti_roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    message_type: Mapped[str] = mapped_column(String(60))
    custom: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ExpiringValue(Base):
    """Key/value with expiry: launch state, nonces and launch data in embedded mode."""

    __tablename__ = "expiring_values"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[dt.datetime] = mapped_column()

    __table_args__ = (Index("ix_expiring_values_expires_at", "expires_at"),)


class AuditEntry(Base):
    """Who did what to whom: every admin and manager action is recorded here."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    tenant_id: Mapped[int | None] = mapped_column(
        ForeignKey("deployments.id", ondelete="SET NULL"), default=None, index=True
    )
    actor: Mapped[str] = mapped_column(String(300))
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str] = mapped_column(String(300), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AdminUser(Base):
    """A console account for LMS admins and content authors (password login)."""

    __tablename__ = "admin_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    # "admin" (everything) or "author" (catalogue only); tenant_id NULL = install-wide.
    role: Mapped[str] = mapped_column(String(20), default="admin")
    tenant_id: Mapped[int | None] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), default=None
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # A disabled account cannot sign in, and its sessions stop working at once.
    disabled: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    # Every console session carries the epoch it was signed in under; raising it
    # (logout, disable, role, tenant or password change) ends all of them at once.
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    last_login_at: Mapped[dt.datetime | None] = mapped_column(default=None)


# Launches read these on every request from a per-process cache (lti_tool.infra.revision).
revision.track(revision.CONFIG, Registration, Deployment, ToolKey)
