"""Test builders: plain ``make_<thing>(session, **overrides)`` functions (CTFd ``gen_*``).

Each builder adds its row, flushes (so ids are set) and returns it; it never commits,
so the caller's transaction decides what persists. Values left out are derived from a
``key`` that is unique within the test process, so builders can be called repeatedly.
"""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy.orm import Session

from adaptive.models import (
    Activity,
    ActivitySkill,
    Framework,
    Module,
    ModuleActivity,
    RoleProfile,
    RoleTarget,
    Skill,
    SkillPrerequisite,
)
from lti_tool.infra.models import Deployment, Person, Registration
from xapi.models import LrsConnection

_serial = itertools.count(1)


def _unique_key() -> str:
    return f"t{next(_serial)}"


def make_registration(
    session: Session, key: str | None = None, **overrides: Any
) -> Registration:
    """A platform registration whose issuer, client id and URLs derive from ``key``."""
    key = key or _unique_key()
    issuer = overrides.pop("issuer", f"https://{key}.example")
    fields: dict[str, Any] = {
        "issuer": issuer,
        "client_id": f"client-{key}",
        "auth_login_url": issuer + "/auth",
        "auth_token_url": issuer + "/token",
        **overrides,
    }
    registration = Registration(**fields)
    session.add(registration)
    session.flush()
    return registration


def make_tenant(
    session: Session,
    key: str | None = None,
    *,
    registration: Registration | None = None,
    **overrides: Any,
) -> Deployment:
    """A tenant (a deployment), of a new registration unless ``registration`` is given."""
    key = key or _unique_key()
    if registration is None:
        registration = make_registration(session, key)
    fields: dict[str, Any] = {"deployment_id": f"dep-{key}", **overrides}
    deployment = Deployment(registration_id=registration.id, **fields)
    session.add(deployment)
    session.flush()
    return deployment


def make_person(
    session: Session, tenant: Deployment, sub: str | None = None, **overrides: Any
) -> Person:
    """A learner of ``tenant``; the display name defaults to the subject."""
    sub = sub or _unique_key()
    fields: dict[str, Any] = {"name": sub, **overrides}
    person = Person(tenant_id=tenant.id, sub=sub, **fields)
    session.add(person)
    session.flush()
    return person


def make_framework(
    session: Session, key: str | None = None, **overrides: Any
) -> Framework:
    """A skill framework, shared (``tenant_id=None``) unless a tenant is given."""
    key = key or _unique_key()
    fields: dict[str, Any] = {"name": key.title(), **overrides}
    framework = Framework(key=key, **fields)
    session.add(framework)
    session.flush()
    return framework


def make_skill(
    session: Session, framework: Framework, key: str | None = None, **overrides: Any
) -> Skill:
    """A skill of ``framework``; the name defaults to the key."""
    key = key or _unique_key()
    fields: dict[str, Any] = {"name": key.title(), **overrides}
    skill = Skill(framework_id=framework.id, key=key, **fields)
    session.add(skill)
    session.flush()
    return skill


def make_skills(session: Session, key: str, n: int) -> list[Skill]:
    """``n`` skills ``s0..s{n-1}`` in a new framework ``fw-<key>``."""
    framework = make_framework(session, f"fw-{key}", name="Framework")
    return [
        make_skill(session, framework, f"s{i}", name=f"Skill {i}") for i in range(n)
    ]


def make_module(session: Session, framework: Framework, **overrides: Any) -> Module:
    """A module of ``framework`` with no activities; key and title derive from a key."""
    key = overrides.pop("key", None) or _unique_key()
    fields: dict[str, Any] = {"title": key.title(), **overrides}
    module = Module(framework_id=framework.id, key=key, **fields)
    session.add(module)
    session.flush()
    return module


def _quiz(n: int) -> dict[str, Any]:
    return {
        "questions": [
            {"prompt": f"Q{i}", "options": ["a", "b", "c"], "answer": "a"}
            for i in range(n)
        ]
    }


def make_catalogue(
    session: Session, tenant_id: int | None, key: str = "ops"
) -> dict[str, Any]:
    """Two skills (B needs A), a role targeting both at level 1, lessons and quizzes.

    Returns the rows by role: ``framework``, ``a``, ``b``, ``role``, ``module`` and
    ``acts`` (activities by ``<kind>-<skill key>``).
    """
    fw = make_framework(session, key, tenant_id=tenant_id)
    a = make_skill(session, fw, "a", name="Alerts")
    b = make_skill(session, fw, "b", name="Blameless reviews")
    session.add(SkillPrerequisite(skill_id=b.id, prerequisite_id=a.id))
    role = RoleProfile(framework_id=fw.id, key="sre", name="SRE", horizon_days=30)
    session.add(role)
    session.flush()
    session.add_all(
        [
            RoleTarget(role_id=role.id, skill_id=a.id, target_level=1),
            RoleTarget(role_id=role.id, skill_id=b.id, target_level=1),
        ]
    )
    acts: dict[str, Activity] = {}
    for skill in (a, b):
        for kind, minutes, group, content in (
            ("lesson", 8.0, f"{skill.key}-1", _quiz(1)),
            ("worked_example", 6.0, f"{skill.key}-1", _quiz(1)),
            ("quiz", 5.0, None, _quiz(4)),
            ("refresher", 3.0, None, _quiz(2)),
        ):
            act = Activity(
                framework_id=fw.id,
                key=f"{kind}-{skill.key}",
                title=f"{kind} {skill.name}",
                kind=kind,
                duration_min=minutes,
                explanation_group=group,
                content=content,
            )
            session.add(act)
            session.flush()
            session.add(
                ActivitySkill(
                    activity_id=act.id, skill_id=skill.id, weight=1.0, level=1
                )
            )
            acts[f"{kind}-{skill.key}"] = act
    module = make_module(
        session,
        fw,
        key="m",
        title="Ops",
        default_role_id=role.id,
        placement_budget=4,
    )
    for pos, act in enumerate(acts.values()):
        session.add(
            ModuleActivity(module_id=module.id, activity_id=act.id, position=pos)
        )
    session.flush()
    return {
        "framework": fw,
        "a": a,
        "b": b,
        "role": role,
        "module": module,
        "acts": acts,
    }


def make_lrs_connection(
    session: Session,
    tenant: Deployment,
    *,
    password: str = "lrs-password",
    **overrides: Any,
) -> LrsConnection:
    """An LRS connection of ``tenant`` with its password stored encrypted."""
    fields: dict[str, Any] = {
        "name": "Company LRS",
        "endpoint": "https://lrs.example/xapi/",
        "username": "pathwise",
        **overrides,
    }
    connection = LrsConnection(tenant_id=tenant.id, **fields)
    connection.set_password(password)
    session.add(connection)
    session.flush()
    return connection
