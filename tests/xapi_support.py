"""Test helpers for the xAPI side: a tenant with people and skills, statement makers."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests
from sqlalchemy.orm import Session

from adaptive.models import Activity, ActivitySkill
from tests.factories import (
    make_framework,
    make_person,
    make_registration,
    make_skill,
    make_tenant,
)
from xapi.core import profile

ISSUER = "https://lms.example.edu"
ADL = "http://adlnet.gov/expapi/verbs/"


@dataclass
class World:
    tenant_id: int
    people: dict[str, int] = field(default_factory=dict)
    skills: dict[str, int] = field(default_factory=dict)
    activity_urls: dict[str, int] = field(default_factory=dict)


def make_world(
    session: Session,
    *,
    people: int = 3,
    deployment_id: str = "dep-1",
    emails: bool = True,
) -> World:
    """A registration + deployment (tenant), people u0..uN, skills and a tagged course."""
    registration = make_registration(session, name="Test LMS", issuer=ISSUER)
    deployment = make_tenant(
        session, registration=registration, deployment_id=deployment_id
    )
    world = World(tenant_id=deployment.id)
    for index in range(people):
        person = make_person(
            session,
            deployment,
            f"u{index}",
            name=f"User {index}",
            email=f"u{index}@example.com" if emails else None,
        )
        world.people[f"u{index}"] = person.id
    framework = make_framework(
        session, "eng", tenant_id=deployment.id, name="Engineering"
    )
    for key in (
        "code-review",
        "customer-support",
        "sales-conversation",
        "sql",
        "python",
    ):
        world.skills[key] = make_skill(session, framework, key).id
    for key, skill_key in (("sql-course", "sql"), ("python-course", "python")):
        url = f"https://courses.example.com/{key}"
        activity = Activity(framework_id=framework.id, key=key, title=key, url=url)
        session.add(activity)
        session.flush()
        session.add(
            ActivitySkill(
                activity_id=activity.id, skill_id=world.skills[skill_key], level=2
            )
        )
        world.activity_urls[key] = activity.id
    session.flush()
    return world


def account(sub: str, home: str = ISSUER) -> dict[str, Any]:
    return {"objectType": "Agent", "account": {"homePage": home, "name": sub}}


def course_statement(
    sub: str,
    verb: str,
    course: str = "sql-course",
    *,
    score: float | None = None,
    when: dt.datetime | None = None,
    statement_id: str | None = None,
) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "id": statement_id or str(uuid.uuid4()),
        "actor": account(sub),
        "verb": {"id": ADL + verb, "display": {"en-US": verb}},
        "object": {
            "objectType": "Activity",
            "id": f"https://courses.example.com/{course}",
            "definition": {"type": "http://adlnet.gov/expapi/activities/course"},
        },
        "timestamp": (when or dt.datetime(2026, 3, 1, tzinfo=dt.UTC)).isoformat(),
    }
    if score is not None:
        statement["result"] = {"score": {"scaled": score}, "success": score >= 0.5}
    return statement


def code_review_statement(sub: str, approved: bool = True) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "actor": account(sub),
        "verb": {
            "id": profile.WORK_VERB_APPROVED
            if approved
            else profile.WORK_VERB_REJECTED,
            "display": {"en-US": "approved" if approved else "requested changes"},
        },
        "object": {
            "objectType": "Activity",
            "id": f"https://git.example.com/acme/api/pull/{uuid.uuid4().int % 10000}",
            "definition": {"type": profile.WORK_TYPE_CODE_REVIEW},
        },
        "context": {"extensions": {profile.EXT_SKILLS: ["python"]}},
        "timestamp": "2026-03-02T10:00:00Z",
    }


def ticket_statement(sub: str, csat: int) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "actor": account(sub),
        "verb": {"id": profile.WORK_VERB_RESOLVED, "display": {"en-US": "resolved"}},
        "object": {
            "objectType": "Activity",
            "id": f"https://support.example.com/tickets/{uuid.uuid4().int % 100000}",
            "definition": {"type": profile.WORK_TYPE_TICKET},
        },
        "result": {"extensions": {profile.EXT_CSAT: csat}},
        "timestamp": "2026-03-03T10:00:00Z",
    }


def voiding_statement(target_id: str) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "actor": {"objectType": "Agent", "mbox": "mailto:admin@example.com"},
        "verb": {"id": ADL + "voided", "display": {"en-US": "voided"}},
        "object": {"objectType": "StatementRef", "id": target_id},
    }


@dataclass
class Step:
    """One scripted answer: status, body (JSON-able), headers, and a delay first."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass
class Seen:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


class ScriptedLrs:
    """A WSGI stand-in for LRS behaviour the real one cannot be made to show
    (429, 5xx, slow answers, statements with unknown fields or xAPI 2.0)."""

    def __init__(self, steps: list[Step]) -> None:
        self.steps = list(steps)
        self.requests: list[Seen] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        import json
        import time

        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        self.requests.append(
            Seen(
                method=environ["REQUEST_METHOD"],
                path=environ["PATH_INFO"],
                query=environ.get("QUERY_STRING", ""),
                headers={
                    k[5:].replace("_", "-").title(): v
                    for k, v in environ.items()
                    if k.startswith("HTTP_")
                },
                body=body,
            )
        )
        step = (
            self.steps.pop(0)
            if self.steps
            else Step(status=500, body={"error": "no step"})
        )
        if step.delay_s:
            time.sleep(step.delay_s)
        payload = b"" if step.body is None else json.dumps(step.body).encode()
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(payload))),
        ]
        headers += list(step.headers.items())
        start_response(f"{step.status} X", headers)
        return [payload]


# Not passed on: hop-by-hop, or no longer true of the (decoded) body.
HOP_HEADERS = {"transfer-encoding", "connection", "content-encoding", "content-length"}


class SinceFailingProxy:
    """A WSGI proxy to a real LRS that answers 500 to every query with ``since``
    (as some LRSs do), and forwards everything else unchanged."""

    def __init__(self, upstream_root: str) -> None:
        self.upstream_root = upstream_root.rstrip("/")
        self.failed = 0
        self.forwarded = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        query = environ.get("QUERY_STRING", "")
        if "since=" in query:
            self.failed += 1
            start_response("500 Internal Server Error", [("Content-Length", "0")])
            return [b""]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else None
        headers = {
            k[5:].replace("_", "-").title(): v
            for k, v in environ.items()
            if k.startswith("HTTP_") and k != "HTTP_HOST"
        }
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        url = self.upstream_root + environ["PATH_INFO"] + ("?" + query if query else "")
        answer = requests.request(
            environ["REQUEST_METHOD"], url, data=body, headers=headers, timeout=30
        )
        self.forwarded += 1
        passed = [
            (k, v) for k, v in answer.headers.items() if k.lower() not in HOP_HEADERS
        ]
        passed.append(("Content-Length", str(len(answer.content))))
        start_response(f"{answer.status_code} X", passed)
        return [answer.content]
