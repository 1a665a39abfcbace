"""Test support: one learner answer through the API, and the SELECTs it makes."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import event

from lti_tool.devplatform.model import LEARNER
from lti_tool.infra.db import db
from tests.lti_platform import LtiHarness, bearer, launch_token


@contextmanager
def tables_read() -> Iterator[Counter[str]]:
    """How many SELECTs name each table (by its first FROM), while the block runs."""
    counts: Counter[str] = Counter()

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        words = statement.split()
        if words and words[0] == "SELECT" and "FROM" in words:
            counts[words[words.index("FROM") + 1]] += 1

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        yield counts
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)


def launch_for_answers(lti: LtiHarness) -> tuple[FlaskClient, dict[str, str], str]:
    """A learner's launch, its API client and bearer headers, and their next activity."""
    run = lti.do_launch(LEARNER)
    assert run.status == 200, run.text[:1000]
    assert lti.tool.app is not None
    client = lti.tool.app.test_client()
    headers = bearer(launch_token(run.text))
    path = client.get("/api/v1/me/path", headers=headers)
    assert path.status_code == 200, path.json
    return client, headers, str(path.json["next_step"]["activity_key"])


def answer(client: FlaskClient, headers: dict[str, str], key: str) -> Any:
    """One attempt at ``key`` through the learner API (a fresh client id)."""
    response = client.post(
        "/api/v1/attempts",
        headers=headers,
        json={
            "client_id": str(uuid.uuid4()),
            "activity_key": key,
            "responses": [0],
            "minutes": 3,
        },
    )
    assert response.status_code == 200, response.json
    return response.json
