"""End-to-end LTI services: AGS scores and NRPS members from a launch, against the live LMS.

The tool's own signing key (from its database) signs the client assertion, the
LMS verifies it against the tool's live JWKS, and the endpoints come from the
claims the launch stored. The calls go through pylti1p3's service classes with
the tool's registration, the path Pathwise's grade passback builds on.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pylti1p3.assignments_grades import AssignmentsGradesService
from pylti1p3.exception import LtiServiceException
from pylti1p3.grade import Grade
from pylti1p3.names_roles import NamesRolesProvisioningService
from pylti1p3.service_connector import ServiceConnector
from sqlalchemy import select

from lti_tool.devplatform.model import LEARNER
from lti_tool.devplatform.overrides import DROP
from lti_tool.devplatform.vocabulary import CLAIM_AGS, SCOPE_SCORE
from lti_tool.infra.db import session_scope
from lti_tool.infra.models import Registration, ResourceLink
from lti_tool.lti.tool_conf import to_lti_registration
from tests.lti_platform import LtiHarness


class MemoryTokenConnector(ServiceConnector):
    """pylti1p3 leaves the access-token cache to the host; a dict is enough here."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tokens: dict[str, str] = {}
        self.token_requests = 0

    def _get_cached_access_token(self, scope_key: str) -> str | None:
        return self.tokens.get(scope_key)

    def _cache_access_token(
        self, scope_key: str, access_token: str, expires_in: float
    ) -> None:
        self.token_requests += 1
        self.tokens[scope_key] = access_token


def launched_link(
    lti: LtiHarness, **overrides: Any
) -> tuple[MemoryTokenConnector, ResourceLink]:
    run = lti.do_launch(LEARNER, **overrides)
    assert run.status == 200, run.text[:2000]
    with session_scope() as session:
        link = session.scalar(select(ResourceLink))
        registration = session.get(Registration, lti.tool.registration_id)
        assert link is not None and registration is not None
        connector = MemoryTokenConnector(to_lti_registration(session, registration))
        session.expunge(link)
    return connector, link


def grade(moment: dt.datetime, score: float, progress: str = "FullyGraded") -> Grade:
    return (
        Grade()
        .set_user_id(LEARNER.sub)
        .set_score_given(score)
        .set_score_maximum(10)
        .set_activity_progress("Completed")
        .set_grading_progress(progress)
        .set_timestamp(moment.isoformat())
        .set_comment("Next: evaluating outputs")
    )


def test_launch_stores_the_lms_service_endpoints(lti: LtiHarness) -> None:
    _, link = launched_link(lti)

    assert link.ags_endpoint is not None
    assert link.ags_endpoint["lineitem"].startswith(lti.platform.issuer + "/ags/")
    assert SCOPE_SCORE in link.ags_endpoint["scope"]
    assert link.nrps_endpoint is not None
    assert link.nrps_endpoint["context_memberships_url"].endswith("/memberships")


def test_score_reaches_the_lms_with_a_tool_signed_assertion(lti: LtiHarness) -> None:
    connector, link = launched_link(lti)
    assert link.ags_endpoint is not None
    ags = AssignmentsGradesService(connector, link.ags_endpoint)  # type: ignore[arg-type]
    moment = dt.datetime.now(dt.UTC).replace(microsecond=0)

    ags.put_grade(grade(moment, 8))
    ags.put_grade(grade(moment + dt.timedelta(seconds=1), 9))

    scores = lti.platform.scores
    assert [s.score_given for s in scores] == [8, 9]
    assert scores[-1].comment == "Next: evaluating outputs"
    assert connector.token_requests == 1
    results = lti.platform.list_results("dev-course-101", scores[-1].lineitem_id)
    assert results[0]["resultScore"] == pytest.approx(90.0)


def test_rescore_in_the_same_second_is_refused_with_409(lti: LtiHarness) -> None:
    connector, link = launched_link(lti)
    assert link.ags_endpoint is not None
    ags = AssignmentsGradesService(connector, link.ags_endpoint)  # type: ignore[arg-type]
    moment = dt.datetime.now(dt.UTC).replace(microsecond=0)
    ags.put_grade(grade(moment, 8))

    with pytest.raises(LtiServiceException) as caught:
        ags.put_grade(grade(moment + dt.timedelta(milliseconds=500), 9))

    assert caught.value.response.status_code == 409
    assert [s.score_given for s in lti.platform.scores] == [8]


def test_score_given_before_fully_graded_is_ignored_by_the_lms(lti: LtiHarness) -> None:
    connector, link = launched_link(lti)
    assert link.ags_endpoint is not None
    ags = AssignmentsGradesService(connector, link.ags_endpoint)  # type: ignore[arg-type]

    ags.put_grade(grade(dt.datetime.now(dt.UTC), 5, progress="Pending"))

    assert lti.platform.scores[0].score_given is None


def test_members_come_from_the_lms_roster(lti: LtiHarness) -> None:
    connector, link = launched_link(lti)
    assert link.nrps_endpoint is not None

    members = NamesRolesProvisioningService(
        connector,
        link.nrps_endpoint,  # type: ignore[arg-type]
    ).get_members()

    assert {m["name"] for m in members} == {
        "Ada Lovelace",
        "Grace Hopper",
        "Alan Turing",
    }


def test_launch_without_ags_stores_no_grade_endpoint(lti: LtiHarness) -> None:
    """Workday-like LMS: no AGS claim; the launch still works."""
    run = lti.do_launch(LEARNER, claims={CLAIM_AGS: DROP})
    assert run.status == 200, run.text[:2000]

    with session_scope() as session:
        link = session.scalar(select(ResourceLink))
        assert link is not None
        assert link.ags_endpoint is None
