"""Benchmark only (entry point): Pathwise's app plus the bare attempt endpoint of bench/learner.py.

gunicorn serves ``create_bench_app()`` instead of ``pathwise serve``'s, so the answer round trip
and its baseline run in the same processes, with the same settings, the same pool of
database connections and the same request transaction. The bare endpoint inserts one
attempt row and nothing else (no token, no model, no decision, no write-back): the floor
the round trip is compared with. It lives here, never in the product.
"""

from __future__ import annotations

import sys
from pathlib import Path

from flask import Flask, jsonify, request
from werkzeug.wrappers import Response

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adaptive.models import Attempt  # noqa: E402
from lti_tool.cli.bootstrap import build_app, load_settings  # noqa: E402
from lti_tool.infra.db import utcnow  # noqa: E402
from lti_tool.web.transaction import request_session  # noqa: E402

BARE_ATTEMPT_PATH = "/bench/bare-attempt"


def bare_attempt() -> Response:
    """Insert one attempt row; the request's transaction commits it after the answer."""
    body = request.get_json(force=True)
    now = utcnow()
    row = Attempt(
        tenant_id=int(body["tenant_id"]),
        person_id=int(body["person_id"]),
        activity_id=int(body["activity_id"]),
        module_id=int(body["module_id"]),
        answers=list(body.get("responses", [])),
        started_at=now,
        finished_at=now,
    )
    session = request_session()
    session.add(row)
    session.flush()  # the id, as the round trip answers with its attempt's id
    response = jsonify({"attempt_id": row.id})
    response.status_code = 201
    return response


def create_bench_app() -> Flask:
    """Pathwise's app with the bare endpoint; gunicorn calls it in each worker."""
    flask_app = build_app(load_settings())
    flask_app.add_url_rule(
        BARE_ATTEMPT_PATH, "bench_bare_attempt", bare_attempt, methods=["POST"]
    )
    # A JSON API called with explicit ids, as /api/v1 is exempt for its bearer token.
    flask_app.extensions["csrf"].exempt(bare_attempt)
    return flask_app
