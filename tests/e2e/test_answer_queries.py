"""What one answer (POST /api/v1/attempts) costs the database, its jobs queued to Redis.

As on gunicorn, the write-backs go to RQ (real Redis), so only the request's own
queries are counted: a query added to the answer path fails here.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from adaptive.demo_seed import seed_demo
from lti_tool.infra.config import Settings
from lti_tool.infra.db import session_scope
from tests.answer_support import answer as _answer
from tests.answer_support import launch_for_answers as _launch
from tests.answer_support import tables_read
from tests.lti_platform import LtiHarness
from tests.support_env import make_test_settings


@pytest.fixture
def settings(
    tmp_path: Path, engine: Engine, database_url: str, redis_url: str
) -> Settings:
    base = make_test_settings(tmp_path, database_url=database_url)
    return dataclasses.replace(base, redis_url=redis_url)


def test_an_answer_reads_the_stamp_once_and_stays_within_its_queries(
    lti: LtiHarness,
) -> None:
    with session_scope() as session:
        seed_demo(session)
    client, headers, key = _launch(lti)
    _answer(client, headers, key)  # the first answer creates the grade's row
    with tables_read() as reads:
        _answer(client, headers, key)
    # The stamp is read once per transaction (the submission claim takes no
    # savepoint any more, so nothing can make the session read it again).
    assert reads["revisions"] == 1, reads
    # Measured: 13 SELECTs on the second answer (23 before: the launch's person,
    # link, module and course are one query, not four; the activity's questions
    # and visibility come from the module snapshot, not two reads of its row; the
    # submission claim is one INSERT that skips a duplicate, with no lookup before
    # it; the role targets of the learner's roles are one query, not four; and the
    # learner is read once for the update and the decision). 12 since the attempt's
    # statement skips the outbox lookup (its key names the attempt just inserted).
    # A new query on the answer path fails here.
    assert sum(reads.values()) <= 12, reads
