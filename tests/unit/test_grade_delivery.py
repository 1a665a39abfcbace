"""Grade delivery rules that need no LMS: timestamps, backoff, token keys, error kinds."""

from __future__ import annotations

import datetime as dt
import json
import random

import requests
from pylti1p3.exception import LtiServiceException

from lti_tool.lti.ags_client import (
    AgsRejected,
    AgsUnavailable,
    ScoreBody,
    _classified,
    _scores_url,
    token_cache_key,
)
from lti_tool.lti.grade_delivery import (
    GRADE_MAX_BACKOFF_S,
    grade_backoff,
    next_timestamp,
)

NOW = dt.datetime(2026, 12, 2, 10, 0, 0, 400_000, tzinfo=dt.UTC)


def test_timestamps_are_whole_seconds_and_strictly_later_than_the_last() -> None:
    first = next_timestamp(NOW, None)
    assert first == NOW.replace(microsecond=0)
    # Same second again (a quick second answer, or a retry): one second later.
    second = next_timestamp(NOW + dt.timedelta(milliseconds=300), first)
    assert second == first + dt.timedelta(seconds=1)
    third = next_timestamp(NOW, second)
    assert third == second + dt.timedelta(seconds=1)
    # Once the clock has moved on, the clock wins.
    later = NOW + dt.timedelta(minutes=5)
    assert next_timestamp(later, third) == later.replace(microsecond=0)


def test_backoff_grows_and_is_capped() -> None:
    rng = random.Random(7)
    waits = [grade_backoff(n, rng) for n in range(1, 15)]
    assert waits[0] <= 5.0
    assert max(waits) <= GRADE_MAX_BACKOFF_S
    assert waits[-1] >= GRADE_MAX_BACKOFF_S / 2


def test_token_key_is_per_registration_and_scope_set_in_any_order() -> None:
    a = token_cache_key(1, ["s/score", "s/lineitem"])
    assert a == token_cache_key(1, ["s/lineitem", "s/score"])
    assert a != token_cache_key(2, ["s/score", "s/lineitem"])
    assert a != token_cache_key(1, ["s/score"])


def test_score_body_has_the_ags_fields() -> None:
    body = json.loads(
        ScoreBody(
            user_id="u1",
            timestamp=NOW.replace(microsecond=0),
            score_given=42.123456,
            score_maximum=100.0,
            activity_progress="Completed",
            grading_progress="FullyGraded",
            comment="Next: prompts.",
        ).as_json()
    )
    assert body == {
        "userId": "u1",
        "timestamp": "2026-12-02T10:00:00+00:00",
        "scoreGiven": 42.1235,
        "scoreMaximum": 100.0,
        "activityProgress": "Completed",
        "gradingProgress": "FullyGraded",
        "comment": "Next: prompts.",
    }


def test_scores_url_keeps_the_query_string() -> None:
    assert _scores_url("https://lms/li/7") == "https://lms/li/7/scores"
    assert _scores_url("https://lms/li/7/?type=x") == "https://lms/li/7/scores?type=x"


def _answered(status: int) -> LtiServiceException:
    response = requests.Response()
    response.status_code = status
    response._content = b'{"message": "nope"}'
    response.headers["Retry-After"] = "30"
    return LtiServiceException("failed", response)


def test_errors_are_retried_or_refused_by_the_lms_answer() -> None:
    url = "https://lms.example/ags/scores"
    for status in (409, 429, 500, 503):
        error = _classified(url, _answered(status))
        assert isinstance(error, AgsUnavailable), status
        assert error.status == status and "nope" in str(error)
    assert _classified(url, _answered(429)).retry_after_s == 30  # type: ignore[attr-defined]
    for status in (400, 403, 404):
        assert isinstance(_classified(url, _answered(status)), AgsRejected)
    assert isinstance(_classified(url, requests.Timeout()), AgsUnavailable)
    assert isinstance(_classified(url, requests.ConnectionError()), AgsUnavailable)
