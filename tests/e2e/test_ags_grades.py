"""Grades to the LMS (LTI AGS) through the grade outbox, against the live development LMS.

Real parts end to end: signed launches through the development LMS, its token
endpoint and its AGS service with Moodle's rules (409 on a timestamp that is not
later, in whole seconds, than the learner's last), Pathwise's outbox, delivery job
and instructor page. Outages are rehearsed by the LMS itself (``ags_faults``).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import select

from adaptive.demo_seed import seed_demo
from adaptive.models import Activity, Module
from lti_tool.devplatform.model import INSTRUCTOR, LEARNER
from lti_tool.devplatform.overrides import DROP
from lti_tool.devplatform.vocabulary import AGS_SCOPES, DEMO_COURSE_ID
from lti_tool.infra.db import session_scope, utcnow
from lti_tool.infra.models import AuditEntry, Launch, Person, ResourceLink
from lti_tool.infra.queue import QUEUE_OUTBOX, job_queue
from lti_tool.infra.store import KEY_PREFIX
from lti_tool.lti import grade_delivery
from lti_tool.lti.grade_jobs import send_pending_grades
from lti_tool.lti.grade_models import (
    GRADE_FAILING,
    GRADE_SENT,
    GradeLineItem,
    GradeOutboxEntry,
)
from lti_tool.lti.launch_token import launch_context
from lti_tool.usecases.grades import record_learner_attempt
from tests.live_servers import register_tool
from tests.lti_platform import LtiHarness, launch_token

TAG = grade_delivery.LINEITEM_TAG
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _demo_catalogue(lti: LtiHarness) -> None:
    """The demo links name their module; with the catalogue in, launches resolve it."""
    with session_scope() as session:
        seed_demo(session)


def _entry() -> GradeOutboxEntry:
    with session_scope() as session:
        entry = session.scalars(select(GradeOutboxEntry)).one()
        session.expunge(entry)
        return entry


def _answer(correct: bool, index: int = 0) -> None:
    """The learner finishes one activity of the module (the learner journey's call)."""
    with session_scope() as session:
        person = session.scalars(select(Person).where(Person.sub == LEARNER.sub)).one()
        launch = session.scalars(
            select(Launch)
            .where(Launch.person_id == person.id)
            .order_by(Launch.id.desc())
        ).first()
        assert launch is not None and launch.resource_link_pk is not None
        link = session.get(ResourceLink, launch.resource_link_pk)
        assert link is not None and link.module_id is not None
        activities = session.scalars(
            select(Activity).order_by(Activity.id).limit(index + 1)
        ).all()
        record_learner_attempt(
            session,
            launch_context(launch, ttl_s=3600),
            activity_id=activities[-1].id,
            module_id=link.module_id,
            answers=[],
            score=1.0 if correct else 0.0,
            now=utcnow(),
        )


def _deliver_until_sent(lti: LtiHarness, *, rounds: int = 12) -> list[dict[str, int]]:
    """Run the periodic job as the clock moves on (11 minutes a round) until sent."""
    reports = []
    moment = utcnow()
    for _ in range(rounds):
        moment += dt.timedelta(minutes=11)
        reports.append(send_pending_grades(now=moment))
        # A rehearsed timeout still lands at the LMS after its delay: let it.
        time.sleep(lti.platform.ags_fault_delay_s + 0.1)
        entry = _entry()
        if entry.status == GRADE_SENT and entry.sent_version == entry.version:
            break
    return reports


def test_learner_launch_sends_their_progress_as_a_score(lti: LtiHarness) -> None:
    run = lti.do_launch(LEARNER)
    assert run.status == 200, run.text[:2000]

    entry = _entry()
    assert entry.status == GRADE_SENT
    [score] = lti.platform.scores
    assert score.user_id == LEARNER.sub
    assert score.grading_progress == "FullyGraded"
    assert score.activity_progress == "InProgress"
    item = lti.platform.lineitems[score.lineitem_id]
    assert score.score_maximum == item.score_maximum
    assert score.score_given == pytest.approx(
        entry.progress * item.score_maximum, abs=1e-3
    )
    assert 0 <= score.score_given <= item.score_maximum  # type: ignore[operator]
    # One sentence naming the next step.
    assert score.comment is not None and score.comment.startswith("Next: ")
    assert score.comment.endswith(".") and score.comment.count(". ") == 0
    stamp = dt.datetime.fromisoformat(score.timestamp)
    assert stamp.microsecond == 0 and stamp.tzinfo is not None


def test_each_answer_sends_a_later_score_and_one_token_serves_them(
    lti: LtiHarness,
) -> None:
    assert lti.do_launch(LEARNER).status == 200
    for i in range(4):
        _answer(correct=True, index=i)

    answers = lti.platform.score_answers
    assert 409 not in answers
    scores = lti.platform.scores
    assert len(scores) >= 2
    seconds = [s.timestamp_s for s in scores]
    assert seconds == sorted(set(seconds))  # strictly increasing, whole seconds apart
    # The last score carries the newest progress.
    entry = _entry()
    assert entry.status == GRADE_SENT and entry.sent_version == entry.version
    assert scores[-1].score_given == pytest.approx(entry.progress * 100, abs=1e-3)
    # Cached per registration and scope set: one token for every call.
    assert lti.platform.tokens_issued == 1


def _ags_claim_without_lineitem(lti: LtiHarness) -> dict[str, Any]:
    return {
        "scope": list(AGS_SCOPES),
        "lineitems": lti.platform.lineitems_url(DEMO_COURSE_ID),
    }


def test_line_item_is_created_once_and_found_again_across_pages(
    lti: LtiHarness,
) -> None:
    # Canvas pages line items at 10: ours will sit on the third page.
    for n in range(23):
        lti.platform.create_lineitem(
            DEMO_COURSE_ID,
            {"label": f"Quiz {n}", "scoreMaximum": 10, "tag": f"quiz-{n}"},
        )
    ags = _ags_claim_without_lineitem(lti)

    assert lti.do_launch(LEARNER, ags=ags).status == 200
    ours = [i for i in lti.platform.lineitems.values() if i.tag == TAG]
    assert len(ours) == 1
    assert ours[0].resource_id == "ai-readiness-everyone"
    assert ours[0].id > 20  # beyond the first two pages

    # Forget what we found: the next score must find it again, not create another.
    with session_scope() as session:
        for row in session.scalars(select(GradeLineItem)):
            session.delete(row)
    _answer(correct=True)

    assert [i.id for i in lti.platform.lineitems.values() if i.tag == TAG] == [
        ours[0].id
    ]
    assert {s.lineitem_id for s in lti.platform.scores} == {ours[0].id}
    with session_scope() as session:
        cached = session.scalars(select(GradeLineItem)).one()
        assert cached.lineitem_url.endswith(f"/lineitems/{ours[0].id}")


def test_outage_every_final_score_arrives_once_the_lms_is_back_without_409(
    lti: LtiHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(grade_delivery.limits, "timeout_s", 0.3)
    lti.platform.ags_fault_delay_s = 0.6
    lti.platform.ags_faults = ["500", "429", "timeout", "503", "timeout", "502"]

    assert lti.do_launch(LEARNER).status == 200
    for i in range(3):
        _answer(correct=i != 1, index=i)
    assert _entry().status != GRADE_SENT

    reports = _deliver_until_sent(lti)

    entry = _entry()
    assert entry.status == GRADE_SENT and entry.sent_version == entry.version
    assert lti.platform.ags_faults == []
    answers = lti.platform.score_answers
    assert 409 not in answers
    assert {500, 429} <= set(answers)
    assert answers[-1] == 204
    final = lti.platform.scores[-1]
    assert final.score_given == pytest.approx(entry.progress * 100, abs=1e-3)
    assert sum(r["retrying"] for r in reports) >= 1


def test_only_the_newest_pending_score_is_sent(lti: LtiHarness) -> None:
    assert lti.do_launch(LEARNER).status == 200
    assert len(lti.platform.scores) == 1
    lti.platform.ags_faults = ["503"]

    for i in range(4):  # the first kick meets the 503; the rest wait in one row
        _answer(correct=True, index=i)
    waiting = _entry()
    assert waiting.version - waiting.sent_version == 4  # four scores, one row
    assert len(lti.platform.scores) == 1

    _deliver_until_sent(lti)

    assert len(lti.platform.scores) == 2  # the launch's, then only the newest
    entry = _entry()
    assert lti.platform.scores[-1].score_given == pytest.approx(
        entry.progress * 100, abs=1e-3
    )
    assert lti.platform.scores[-1].comment == entry.comment


def _instructor_page(lti: LtiHarness, **overrides: Any) -> str:
    run = lti.do_launch(INSTRUCTOR, **overrides)
    assert run.status == 200, run.text[:2000]
    return run.text


def test_instructor_sees_a_failing_grade_with_the_lms_answer_and_retries_it(
    lti: LtiHarness,
) -> None:
    lti.platform.ags_faults = ["400"]
    assert lti.do_launch(LEARNER).status == 200
    assert _entry().status == GRADE_FAILING

    page = _instructor_page(lti)
    assert 'data-grade-state="failing"' in page
    assert "The LMS answered:" in page and "400" in page
    assert 'action="/app/grades/retry"' in page

    with session_scope() as session:
        learner_id = session.scalars(
            select(Person.id).where(Person.sub == LEARNER.sub)
        ).one()
    answer = requests.post(
        lti.tool.url + "/app/grades/retry",
        data={"lt": launch_token(page), "person_id": str(learner_id)},
        headers={"Origin": lti.tool.url},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text[:2000]

    assert _entry().status == GRADE_SENT
    assert lti.platform.scores[-1].user_id == LEARNER.sub
    with session_scope() as session:
        audit = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "grades.retry")
        ).one()
        assert audit.target == f"person:{learner_id}"
        assert audit.details["previous_status"] == GRADE_FAILING
    assert 'data-grade-state="sent"' in _instructor_page(lti)


def test_retry_is_refused_to_learners_and_from_another_site(lti: LtiHarness) -> None:
    learner_run = lti.do_launch(LEARNER)
    token = launch_token(learner_run.text)
    url = lti.tool.url + "/app/grades/retry"

    as_learner = requests.post(url, data={"lt": token, "person_id": "1"}, timeout=30)
    assert as_learner.status_code == 403

    page = _instructor_page(lti)
    cross_site = requests.post(
        url,
        data={"lt": launch_token(page), "person_id": "1"},
        headers={"Sec-Fetch-Site": "cross-site"},
        timeout=30,
    )
    assert cross_site.status_code == 403
    with session_scope() as session:
        assert not session.scalars(
            select(AuditEntry).where(AuditEntry.action == "grades.retry")
        ).all()


def test_without_ags_launches_work_and_the_instructor_page_says_grades_are_not_sent(
    lti: LtiHarness,
) -> None:
    run = lti.do_launch(LEARNER, ags=DROP)
    assert run.status == 200, run.text[:2000]
    _answer(correct=True)

    with session_scope() as session:
        assert session.scalars(select(GradeOutboxEntry)).all() == []
        assert session.scalars(select(Module)).first() is not None
    assert lti.platform.scores == []
    page = _instructor_page(lti, ags=DROP)
    assert "Grades are not sent" in page
    assert "data-grade-state" not in page


def test_with_redis_an_rq_worker_delivers_and_the_token_is_cached_there(
    lti: LtiHarness, redis_url: str
) -> None:
    job_queue.configure(redis_url)
    try:
        assert lti.do_launch(LEARNER).status == 200
        _answer(correct=True)
        connection = Redis.from_url(redis_url)
        queue = Queue(QUEUE_OUTBOX, connection=connection)
        grade_runs = [
            j for j in queue.jobs if j.func_name.endswith("send_pending_grades")
        ]
        assert len(grade_runs) == 1  # one coalesced delivery run for both commits
        assert lti.platform.scores == []

        SimpleWorker([queue], connection=connection).work(burst=True)

        entry = _entry()
        assert entry.status == GRADE_SENT and entry.sent_version == entry.version
        assert len(lti.platform.scores) == 1  # only the newest of the two
        assert lti.platform.tokens_issued == 1
        assert list(connection.scan_iter(KEY_PREFIX + "ags-token:*"))
    finally:
        job_queue.configure(None)


def test_an_instructor_of_another_tenant_cannot_retry_this_tenants_grade(
    lti: LtiHarness,
) -> None:
    lti.platform.ags_faults = ["400"]
    assert lti.do_launch(LEARNER).status == 200
    register_tool(lti.lms, lti.tool.url, client_id="second-client", deployment_id="b")
    other = lti.browser("second-client").launch(INSTRUCTOR)
    assert other.status == 200, other.text[:2000]
    assert "Ada Lovelace" not in other.text  # another tenant's cohort

    answer = requests.post(
        lti.tool.url + "/app/grades/retry",
        data={"lt": launch_token(other.text), "person_id": str(_entry().person_id)},
        headers={"Origin": lti.tool.url},
        timeout=30,
    )

    assert answer.status_code == 404
    assert 'data-reason="no_grade"' in answer.text
    assert _entry().status == GRADE_FAILING


def test_an_hour_long_outage_backs_off_and_loses_nothing(lti: LtiHarness) -> None:
    lti.platform.ags_faults = ["503"] * 1000  # down until the test says otherwise
    assert lti.do_launch(LEARNER).status == 200
    _answer(correct=True)
    start = utcnow()

    # The scheduler's run, once a simulated minute, through the hour of the outage.
    for minute in range(1, 61):
        send_pending_grades(now=start + dt.timedelta(minutes=minute))
    # Every call to the AGS endpoints (line item or score) met one 503.
    tries_during_outage = 1000 - len(lti.platform.ags_faults)
    assert lti.platform.scores == []
    # Exponential backoff (capped at ten minutes): about a dozen tries in the hour,
    # not one a minute.
    assert 3 <= tries_during_outage <= 25

    lti.platform.ags_faults = []  # the LMS is back
    back_at = 60
    for minute in range(61, 75):
        send_pending_grades(now=start + dt.timedelta(minutes=minute))
        if lti.platform.scores:
            back_at = minute
            break

    assert back_at <= 71  # the backoff is capped at ten minutes
    entry = _entry()
    assert entry.status == GRADE_SENT and entry.sent_version == entry.version
    [score] = lti.platform.scores
    assert score.score_given == pytest.approx(entry.progress * 100, abs=1e-3)
    assert 409 not in lti.platform.score_answers


def _pathwise(lti: LtiHarness, *args: str) -> str:
    """Run the `pathwise` command in its own process on the tool's database."""
    settings = lti.tool.settings
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PATHWISE_ENV": "test",
        "DATABASE_URL": settings.database_url,
        "PATHWISE_SECRET_KEY": settings.secret_key,
        "PATHWISE_ENCRYPTION_KEY": ",".join(settings.encryption_keys),
        "PATHWISE_DATA_DIR": str(settings.data_dir),
        "PATHWISE_LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", "from lti_tool.cli import main; main()", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_the_cli_shows_failing_grades_and_sends_due_ones(lti: LtiHarness) -> None:
    lti.platform.ags_faults = ["503"]
    assert lti.do_launch(LEARNER).status == 200

    status = _pathwise(lti, "grades", "status")
    assert "pending: 1" in status and "sent: 0" in status
    assert "answered 503" in status

    with session_scope() as session:  # the backoff is over
        for entry in session.scalars(select(GradeOutboxEntry)):
            entry.next_attempt_at = utcnow()
    assert "delivered: 1" in _pathwise(lti, "grades", "send")
    assert "sent: 1" in _pathwise(lti, "grades", "status")
    assert len(lti.platform.scores) == 1
