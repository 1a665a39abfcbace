"""Every route × method × role, and a second tenant's credentials, get exactly what they should.

Generated from ``app.url_map``: a new route, or a new method on one, without an entry in
``EXPECTED`` fails ``test_every_route_has_an_entry``. Launch tokens come from real launches
through the development LMS (two tenants: two registrations of the tool); console users are
an install admin, an admin bound to tenant A, an admin bound to tenant B and an author.

Outcomes: ``ok`` (2xx), ``login`` (3xx to the console sign-in), ``redirect`` (another
3xx), or the status code. A row is ``{role: outcome}`` with ``"*"`` for every role not
named. Cells that are wrong today and being fixed elsewhere are listed in ``KNOWN_GAPS``
(the finding number of issue 13): they run as ``xfail(strict=True)``, so the fix must
flip them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from admin.users import create_admin_user
from lti_tool.devplatform.model import ADMIN, INSTRUCTOR, LEARNER
from lti_tool.infra.db import session_scope
from lti_tool.infra.models import Deployment, Person
from tests.live_servers import register_tool
from tests.lti_platform import LtiHarness, bearer, launch_token
from xapi.connections import add_connection

PASSWORD = "correct horse battery"
ROLES = (
    "anonymous",
    "learner",
    "instructor",
    "lti_admin",
    "learner_b",  # a learner of tenant B
    "console_admin",  # install-wide
    "console_admin_a",  # bound to tenant A
    "console_admin_b",  # bound to tenant B: another tenant's console credentials
    "console_author",
)
CONSOLE_ADMINS = ("console_admin", "console_admin_a", "console_admin_b")
BOUND = ("console_admin_a", "console_admin_b")
LTI_ROLES = ("learner", "instructor", "lti_admin", "learner_b")

# Public and protocol endpoints answer everybody alike.
EVERYONE_OK = {"*": "ok"}
# An LMS must call these with protocol parameters; a bare request is refused alike.
PROTOCOL = {"*": 400}
# A console page: sign in first; any console role may see it.
CONSOLE_ANY = {"*": "login", **dict.fromkeys((*CONSOLE_ADMINS, "console_author"), "ok")}
# A console page for admins only (authors get 403).
CONSOLE_ADMIN = {
    "*": "login",
    **dict.fromkeys(CONSOLE_ADMINS, "ok"),
    "console_author": 403,
}
# A console action (POST) for admins: redirects back to its page when allowed.
CONSOLE_ADMIN_ACTION = {
    "*": "login",
    **dict.fromkeys(CONSOLE_ADMINS, "redirect"),
    "console_author": 403,
}

# The learner API: learners only (403 learner_only for instructors and admins).
API_LEARNER_409 = {
    "*": 401,
    **dict.fromkeys(("learner", "learner_b"), 409),
    **dict.fromkeys(("instructor", "lti_admin"), 403),
}
API_LEARNER_415 = {**API_LEARNER_409, "learner": 415, "learner_b": 415}
# A manager's page (POST with the token in the body): managers only, learners 403.
MANAGER_PAGE = {
    "*": 401,
    **dict.fromkeys(("learner", "learner_b"), 403),
    **dict.fromkeys(("instructor", "lti_admin"), "ok"),
}
MANAGER_409 = {**MANAGER_PAGE, "instructor": 409, "lti_admin": 409}

LEARNER_PAGE = {
    "*": 401,
    "learner": 409,
    "learner_b": 409,
    "instructor": 403,
    "lti_admin": 403,
}

EXPECTED: dict[tuple[str, str], dict[str, Any]] = {
    ("/", "GET"): EVERYONE_OK,
    ("/healthz", "GET"): EVERYONE_OK,
    ("/readyz", "GET"): EVERYONE_OK,
    ("/static/<path:filename>", "GET"): EVERYONE_OK,
    ("/lti/jwks", "GET"): EVERYONE_OK,
    ("/lti/canvas.json", "GET"): EVERYONE_OK,
    ("/lti/login", "GET"): PROTOCOL,
    ("/lti/login", "POST"): PROTOCOL,
    ("/lti/launch", "POST"): PROTOCOL,
    ("/lti/register", "GET"): PROTOCOL,
    ("/lti/register", "POST"): PROTOCOL,
    # Learner pages: the launch token decides. Without one, GET answers the small page
    # that re-posts the tab's token (it shows nothing of anyone's); a POST refuses.
    ("/app/home", "GET"): {"*": "ok"},
    ("/app/home", "POST"): {"*": 401, **dict.fromkeys(LTI_ROLES, "ok")},
    # The player: learners only; these links carry no module (409). Without a token
    # the GET is the re-posting page.
    ("/app/activity/<key>", "GET"): {
        "*": "ok",
        "learner": 409,
        "learner_b": 409,
        "instructor": 403,
        "lti_admin": 403,
    },
    ("/app/activity/<key>", "POST"): {
        "*": 401,
        "learner": 409,
        "learner_b": 409,
        "instructor": 403,
        "lti_admin": 403,
    },
    # The learner's own pages: instructors and admins have the manager page instead;
    # these links carry no module (409).
    ("/app/placement", "GET"): {**LEARNER_PAGE, "*": "ok"},
    ("/app/placement", "POST"): LEARNER_PAGE,
    ("/app/path", "GET"): {**LEARNER_PAGE, "*": "ok"},
    ("/app/path", "POST"): LEARNER_PAGE,
    # The picker opens only for a pending deep-linking launch; these tokens come from
    # resource-link launches, so instructors get 400 (deep_link_expired).
    ("/app/deep-link", "GET"): {
        "*": "ok",
        "learner": 403,
        "learner_b": 403,
        "instructor": 400,
        "lti_admin": 400,
    },
    ("/app/deep-link/picker", "POST"): {
        "*": 401,
        "learner": 403,
        "learner_b": 403,
        "instructor": 400,
        "lti_admin": 400,
    },
    # No content selection is pending for these launches.
    ("/app/deep-link", "POST"): {
        "*": 401,
        "learner": 403,
        "learner_b": 403,
        "instructor": 400,
        "lti_admin": 400,
    },
    # No learner is named (no person_id): instructors get 400, learners 403.
    ("/app/grades/retry", "POST"): {
        "*": 401,
        "learner": 403,
        "learner_b": 403,
        "instructor": 400,
        "lti_admin": 400,
    },
    # The manager's pages: a manager's launch only. A bare GET answers the small
    # re-post page. These links carry no module: changes that need one get 409, and
    # override or pairing 1 does not exist (404). The learner is tenant A's.
    ("/app/manage", "GET"): {"*": "ok", "learner": 403, "learner_b": 403},
    ("/app/manage", "POST"): MANAGER_PAGE,
    ("/app/manage/learner/<int:person_id>", "GET"): {
        "*": "ok",
        "learner": 403,
        "learner_b": 403,
    },
    ("/app/manage/learner/<int:person_id>", "POST"): MANAGER_PAGE,
    ("/app/manage/learner/<int:person_id>/overrides", "POST"): MANAGER_409,
    ("/app/manage/learner/<int:person_id>/mentors", "POST"): MANAGER_409,
    (
        "/app/manage/learner/<int:person_id>/overrides/<int:override_id>/revoke",
        "POST",
    ): {**MANAGER_409, "instructor": 404, "lti_admin": 404},
    (
        "/app/manage/learner/<int:person_id>/mentors/<int:pairing_id>/revoke",
        "POST",
    ): {**MANAGER_409, "instructor": 404, "lti_admin": 404},
    # The learner API: a bearer launch token only (console sessions and body tokens
    # are not credentials here), learners only. These links carry no module (409);
    # a body that is not JSON is refused before anything is read (415).
    ("/api/openapi.json", "GET"): EVERYONE_OK,
    ("/api/v1/me/path", "GET"): API_LEARNER_409,
    ("/api/v1/activities/<key>", "GET"): API_LEARNER_409,
    ("/api/v1/placement", "POST"): API_LEARNER_409,
    ("/api/v1/placement/skip", "POST"): API_LEARNER_409,
    ("/api/v1/placement/answers", "POST"): API_LEARNER_415,
    ("/api/v1/activities/<key>/xapi-launch", "POST"): API_LEARNER_409,
    ("/api/v1/attempts", "POST"): API_LEARNER_415,
    # The LRS facade for external xAPI content: only the credential of a content
    # launch opens it (a launch token, a console session or a body token do not).
    ("/xapi/lrs/about", "GET"): EVERYONE_OK,
    ("/xapi/lrs/statements", "GET"): {"*": 401},
    ("/xapi/lrs/statements", "POST"): {"*": 401},
    ("/xapi/lrs/statements", "PUT"): {"*": 401},
    ("/xapi/lrs/activities/state", "GET"): {"*": 401},
    ("/xapi/lrs/activities/state", "PUT"): {"*": 401},
    ("/xapi/lrs/activities/state", "POST"): {"*": 401},
    ("/xapi/lrs/activities/state", "DELETE"): {"*": 401},
    ("/api/v1/time-budget", "POST"): API_LEARNER_415,
    # The console.
    ("/admin/login", "GET"): EVERYONE_OK,
    ("/admin/login", "POST"): {"*": "ok"},  # an empty form: the page again
    ("/admin/logout", "POST"): {"*": "login"},
    ("/admin/", "GET"): CONSOLE_ANY,
    ("/admin/audit", "GET"): CONSOLE_ADMIN,
    # The console's users page is for install admins only.
    ("/admin/users", "GET"): {**CONSOLE_ADMIN, **dict.fromkeys(BOUND, 403)},
    ("/admin/keys", "GET"): CONSOLE_ADMIN,
    # Install-wide actions: the signing key and invitations need an install admin.
    ("/admin/keys", "POST"): {**CONSOLE_ADMIN_ACTION, **dict.fromkeys(BOUND, 403)},
    ("/admin/platforms", "GET"): CONSOLE_ADMIN,
    ("/admin/platforms", "POST"): CONSOLE_ADMIN,  # an empty form: the page again
    ("/admin/platforms/invitation", "POST"): {
        **CONSOLE_ADMIN,
        **dict.fromkeys(BOUND, 403),
    },
    ("/admin/lrs", "GET"): CONSOLE_ADMIN,
    ("/admin/lrs", "POST"): CONSOLE_ADMIN,
    ("/admin/lrs/outbox", "GET"): CONSOLE_ADMIN,
    ("/admin/lrs/outbox/retry", "POST"): CONSOLE_ADMIN_ACTION,
    ("/admin/lrs/quarantine", "GET"): CONSOLE_ADMIN,
    ("/admin/lrs/unmatched", "GET"): CONSOLE_ADMIN,
    ("/admin/people", "GET"): CONSOLE_ADMIN,
    # A bare POST carries no CSRF token nor file: refused, the page shown again.
    ("/admin/people", "POST"): {**CONSOLE_ADMIN, **dict.fromkeys(CONSOLE_ADMINS, 400)},
    # Asked for tenant A's rules (?tenant=A): tenant B's admin must not read them.
    ("/admin/lrs/rules", "GET"): {**CONSOLE_ADMIN, "console_admin_b": 404},
    ("/admin/lrs/rules", "POST"): CONSOLE_ADMIN,
    # Tenant A's LRS connection: tenant B's admin must not reach it.
    ("/admin/lrs/<int:connection_id>/test", "POST"): {
        **CONSOLE_ADMIN_ACTION,
        "console_admin_b": 404,
    },
    ("/admin/lrs/<int:connection_id>/remove", "POST"): {
        **CONSOLE_ADMIN_ACTION,
        "console_admin_b": 404,
    },
}

# Cells that are insecure today, each being fixed by another slice of issue 13.
KNOWN_GAPS: dict[tuple[str, str, str], str] = {}


@dataclass
class World:
    app: Flask
    tokens: dict[str, str]
    connection_a: int
    tenant_a: int
    tenant_b: int
    learner_a: int = 0


@pytest.fixture
def world(lti: LtiHarness) -> Iterator[World]:
    app = lti.tool.app
    assert app is not None
    # Authorisation is under test here; CSRF has its own tests (test_admin_console).
    app.config["WTF_CSRF_ENABLED"] = False
    register_tool(lti.lms, lti.tool.url, client_id="second-client", deployment_id="b")
    tokens = {
        "learner": launch_token(lti.do_launch(LEARNER).text),
        "instructor": launch_token(lti.do_launch(INSTRUCTOR).text),
        "lti_admin": launch_token(lti.do_launch(ADMIN).text),
        "learner_b": launch_token(lti.browser("second-client").launch(LEARNER).text),
    }
    with session_scope() as session:
        tenants = {
            d.deployment_id: d.id for d in session.scalars(select(Deployment)).all()
        }
        tenant_a, tenant_b = tenants["test-deployment-1"], tenants["b"]
        for username, role, tenant in (
            ("console_admin", "admin", None),
            ("console_admin_a", "admin", tenant_a),
            ("console_admin_b", "admin", tenant_b),
            ("console_author", "author", None),
        ):
            create_admin_user(
                session,
                username=username,
                password=PASSWORD,
                role=role,
                tenant_id=tenant,
            )
        learner_a = session.scalars(
            select(Person.id).where(
                Person.sub == LEARNER.sub, Person.tenant_id == tenant_a
            )
        ).one()
    world = World(app, tokens, 0, tenant_a, tenant_b, learner_a)
    world.connection_a = _connection_a(world)
    yield world
    app.config["WTF_CSRF_ENABLED"] = True


def _client(world: World, role: str) -> tuple[FlaskClient, dict[str, str]]:
    client = world.app.test_client()
    if role.startswith("console_"):
        answer = client.post(
            "/admin/login", data={"username": role, "password": PASSWORD}
        )
        assert answer.status_code == 302, (role, answer.data[:300])
    headers = bearer(world.tokens[role]) if role in world.tokens else {}
    return client, headers


def _connection_a(world: World) -> int:
    with session_scope() as session:
        return add_connection(
            session,
            tenant_id=world.tenant_a,
            name="Tenant A's LRS",
            endpoint="http://127.0.0.1:9/xapi/",
            username="a",
            password="a-secret",
            actor="test",
        ).id


def _url(world: World, rule: str) -> str:
    # A fresh connection each time: an allowed removal must not change the next cell.
    connection = (
        _connection_a(world) if rule.endswith("/remove") else world.connection_a
    )
    url = (
        rule.replace("<path:filename>", "pathwise.css")
        .replace("<int:connection_id>", str(connection))
        .replace("<int:person_id>", str(world.learner_a))
        .replace("<int:override_id>", "1")
        .replace("<int:pairing_id>", "1")
    )
    if rule == "/admin/lrs/rules":
        url += f"?tenant={world.tenant_a}"
    return url


def _outcome(status: int, location: str) -> Any:
    if 200 <= status < 300:
        return "ok"
    if 300 <= status < 400:
        return "login" if "/admin/login" in location else "redirect"
    return status


def _routes(app: Flask) -> set[tuple[str, str]]:
    return {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }


def _cells() -> Iterator[tuple[str, str, str, Any]]:
    for (rule, method), row in sorted(EXPECTED.items()):
        for role in ROLES:
            yield rule, method, role, row.get(role, row["*"])


def _observe(world: World, rule: str, method: str, role: str) -> Any:
    client, headers = _client(world, role)
    body: dict[str, str] = {}
    if method == "POST" and role in world.tokens and not rule.startswith("/api/"):
        # Learner pages take the token in the POST body, as browsers send it.
        body, headers = {"lt": world.tokens[role]}, {}
    with client.open(
        _url(world, rule), method=method, headers=headers, data=body
    ) as response:
        return _outcome(response.status_code, response.headers.get("Location", ""))


def test_every_route_has_an_entry(lti: LtiHarness) -> None:
    assert lti.tool.app is not None
    routes = _routes(lti.tool.app)
    missing = sorted(routes - EXPECTED.keys())
    assert not missing, f"routes without an entry in EXPECTED: {missing}"
    assert not sorted(EXPECTED.keys() - routes), "EXPECTED names routes that are gone"


def test_route_role_matrix(world: World) -> None:
    wrong = [
        f"{method} {rule} as {role}: got {got}, expected {expected}"
        for rule, method, role, expected in _cells()
        if (rule, method, role) not in KNOWN_GAPS
        and (got := _observe(world, rule, method, role)) != expected
    ]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    ("rule", "method", "role"),
    [
        pytest.param(*cell, marks=pytest.mark.xfail(strict=True, reason=finding))
        for cell, finding in sorted(KNOWN_GAPS.items())
    ]
    or [pytest.param("", "", "", marks=pytest.mark.skip(reason="no known gaps"))],
)
def test_known_gaps_are_still_open(
    world: World, rule: str, method: str, role: str
) -> None:
    row = EXPECTED[(rule, method)]
    assert _observe(world, rule, method, role) == row.get(role, row["*"])
