"""/readyz names each dependency a launch needs; /healthz stays a liveness check."""

from __future__ import annotations

from flask.testing import FlaskClient
from redis import Redis

from lti_tool.infra.health import readiness
from lti_tool.infra.queue import job_queue
from lti_tool.web.transaction import request_session


def test_ready_on_the_embedded_defaults(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "database": "ok",
        "redis": "not configured",
    }


def test_unreachable_redis_makes_the_process_unready(client: FlaskClient) -> None:
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    unreachable = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    with client.application.test_request_context("/readyz"):
        state = readiness(request_session(), unreachable)
    assert not state.ready
    assert state.as_dict()["status"] == "unavailable"
    assert state.checks["redis"].startswith("error: ")
    assert state.checks["database"] == "ok"
    assert job_queue.connection is None  # the app itself was left alone
    assert client.get("/healthz").status_code == 200
