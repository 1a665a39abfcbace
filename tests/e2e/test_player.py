"""The activity player page and its question types, after a real signed launch.

The development LMS signs the launches and the demo catalogue is the module; the page
is opened the way its script opens it (a POST carrying the token), and answers go
through the same ``POST /api/v1/attempts`` the page's script calls.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from adaptive.demo_seed import seed_demo
from adaptive.models import Activity, Attempt
from lti_tool.devplatform.model import INSTRUCTOR, SampleUser
from lti_tool.infra.db import session_scope
from tests.lti_platform import LtiHarness, bearer, launch_token

QUIZ = "foundations-quiz"
LESSON = "foundations-what-llms-do"
MIXED = "prompting-quick-check"
SCENARIO = "safe-use-scenario-client-list"


@pytest.fixture(autouse=True)
def _demo_catalogue(lti: LtiHarness) -> None:
    with session_scope() as session:
        seed_demo(session)


@pytest.fixture
def client(lti: LtiHarness) -> FlaskClient:
    assert lti.tool.app is not None
    return lti.tool.app.test_client()


def _token(lti: LtiHarness, user: SampleUser | None = None) -> str:
    run = lti.do_launch(user) if user else lti.do_launch()
    assert run.status == 200, run.text[:1000]
    return launch_token(run.text)


def _page(client: FlaskClient, token: str, key: str) -> Any:
    return client.post(f"/app/activity/{key}", data={"lt": token})


def _attempt(client: FlaskClient, token: str, key: str, responses: list[Any]) -> Any:
    answer = client.post(
        "/api/v1/attempts",
        headers=bearer(token),
        json={
            "client_id": str(uuid.uuid4()),
            "activity_key": key,
            "responses": responses,
            "minutes": 3,
        },
    )
    assert answer.status_code == 200, answer.json
    return answer.json


def _stored_questions(key: str) -> list[dict[str, Any]]:
    with session_scope() as session:
        activity = session.scalars(select(Activity).where(Activity.key == key)).one()
        return list((activity.content or {})["questions"])


def test_the_player_shows_the_activity_without_its_answer_keys(
    lti: LtiHarness, client: FlaskClient
) -> None:
    token = _token(lti)
    page = _page(client, token, QUIZ)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert re.search(r"<h1[^>]*>Check: how generative AI works</h1>", html)
    questions = _stored_questions(QUIZ)
    assert html.count("<fieldset data-question=") == len(questions)
    assert html.count("<legend>") == len(questions)
    assert html.count('type="radio"') == sum(len(q["options"]) for q in questions)
    assert html.count('data-action="submit-attempt"') == 1
    assert "Check my answers" in html
    for question in questions:
        # The author's feedback shows only after answering, from the API.
        assert question["explanation"] not in html
    # The page's own script, no inline one (the CSP allows none without a nonce).
    assert "/static/player.js" in html
    assert "<script>" not in html
    assert 'content="' + token + '"' in html  # the token rides in the page, not a URL


def test_each_question_type_has_its_own_control(
    lti: LtiHarness, client: FlaskClient
) -> None:
    token = _token(lti)
    html = _page(client, token, MIXED).get_data(as_text=True)
    multiple = html.split('data-question="0"')[1].split("</fieldset>")[0]
    assert multiple.count('type="checkbox"') == 4
    short = html.split('data-question="1"')[1].split("</fieldset>")[0]
    assert re.search(r'<label for="q1-text">Your answer</label>', short)
    assert 'id="q1-text"' in short and 'type="text"' in short
    scenario = _page(client, token, SCENARIO).get_data(as_text=True)
    assert "<textarea" in scenario and "data-rubric" in scenario
    lesson = _page(client, token, LESSON).get_data(as_text=True)
    assert "I have finished" in lesson and "<fieldset" not in lesson
    assert "<strong>Fluent is not the same as correct.</strong>" in lesson  # Markdown


def test_video_and_link_activities_open_in_a_new_window(
    lti: LtiHarness, client: FlaskClient
) -> None:
    token = _token(lti)
    for key in ("foundations-video-llms-briefly", "prompting-guide-link"):
        html = _page(client, token, key).get_data(as_text=True)
        link = re.search(r'<a class="button" href="(https://[^"]+)"([^>]*)>', html)
        assert link is not None, key
        assert 'target="_blank"' in link.group(2)
        assert 'rel="noopener noreferrer"' in link.group(2)
    # Any other kind keeps its url to itself: it is an xAPI identity, not a page.
    assert 'data-action="open-resource"' not in _page(client, token, LESSON).get_data(
        as_text=True
    )


def test_a_reload_reposts_the_token_and_never_needs_it_in_the_url(
    lti: LtiHarness, client: FlaskClient
) -> None:
    token = _token(lti)
    resume = client.get(f"/app/activity/{QUIZ}")
    assert resume.status_code == 200
    assert f'data-resume-url="/app/activity/{QUIZ}"' in resume.get_data(as_text=True)
    assert token not in resume.get_data(as_text=True)
    in_url = client.get(f"/app/activity/{QUIZ}?lt={token}")
    assert in_url.status_code == 400


def test_the_player_is_for_learners_and_for_this_modules_activities(
    lti: LtiHarness, client: FlaskClient
) -> None:
    assert _page(client, _token(lti, INSTRUCTOR), QUIZ).status_code == 403
    assert _page(client, _token(lti), "no-such-activity").status_code == 404
    assert client.post(f"/app/activity/{QUIZ}").status_code == 401


def test_multiple_and_short_answers_are_checked_with_feedback(
    lti: LtiHarness, client: FlaskClient
) -> None:
    token = _token(lti)
    right = _attempt(client, token, MIXED, [[3, 0, 1], "  Reply.", "3.0"])
    assert [f["correct"] for f in right["feedback"]] == [True, True, True]
    assert right["score"] == 1.0 and right["success"] is True
    assert right["feedback"][1]["feedback_html"].startswith("<p>Reply in the same")
    wrong = _attempt(client, token, MIXED, [[0, 1], "new chat", "three"])
    assert [f["correct"] for f in wrong["feedback"]] == [False, False, True]
    assert wrong["score"] == pytest.approx(1 / 3)


def test_a_self_assessed_scenario_is_kept_but_not_scored(
    lti: LtiHarness, client: FlaskClient
) -> None:
    token = _token(lti)
    response = {"text": "Delete the chat and use the approved tool.", "met": [0, 1]}
    out = _attempt(client, token, SCENARIO, [response])
    assert out["score"] is None and out["success"] is None
    assert out["feedback"][0]["correct"] is None
    assert "<em>" in out["feedback"][0]["feedback_html"]  # the model answer, rendered
    with session_scope() as session:
        attempt = session.scalars(select(Attempt).order_by(Attempt.id.desc())).first()
        assert attempt is not None and attempt.answers == [response]
        assert attempt.score is None


def test_after_a_failure_the_next_step_is_a_different_explanation(
    lti: LtiHarness, client: FlaskClient
) -> None:
    token = _token(lti)
    lesson = _attempt(client, token, LESSON, [])
    assert lesson["score"] is None
    wrong = [(q["answer"] + 1) % len(q["options"]) for q in _stored_questions(QUIZ)]
    failed = _attempt(client, token, QUIZ, wrong)
    assert failed["success"] is False
    assert all(f["correct"] is False for f in failed["feedback"])
    step = failed["next_step"]
    assert step["reason_code"] == "remediate_alternative", step
    assert step["activity_key"] not in (LESSON, QUIZ)
    # The page the "Continue" button opens is that explanation's player.
    html = _page(client, token, step["activity_key"]).get_data(as_text=True)
    assert f">{step['title']}</h1>" in html


def test_the_path_page_opens_the_next_activity_in_the_player(
    lti: LtiHarness, client: FlaskClient
) -> None:
    run = lti.do_launch()
    assert run.status == 200
    token = launch_token(run.text)
    step = client.get("/api/v1/me/path", headers=bearer(token))
    key = step.json["next_step"]["activity_key"]
    path = client.post("/app/path", data={"lt": token}).get_data(as_text=True)
    form = re.search(
        r'<form method="post" action="(/app/activity/[^"]+)"[^>]*data-needs-token>',
        path,
    )
    assert form is not None and form.group(1) == f"/app/activity/{key}"


def test_a_malformed_answer_is_refused_and_nothing_is_recorded(
    lti: LtiHarness, client: FlaskClient
) -> None:
    token = _token(lti)
    client_id = str(uuid.uuid4())
    body = {"client_id": client_id, "activity_key": MIXED, "minutes": 2}
    for responses, where in (
        ([1, "reply", "3"], "responses[0]: a multiple-choice answer is a list"),
        ([[0, 9], "reply", "3"], "responses[0]: option 9 does not exist (0..3)"),
        ([[0], 42, "3"], "responses[1]: a short answer is text"),
    ):
        answer = client.post(
            "/api/v1/attempts",
            headers=bearer(token),
            json={**body, "responses": responses},
        )
        assert (answer.status_code, answer.json["error"]) == (422, "invalid_responses")
        assert where in answer.json["message"], answer.json
    with session_scope() as session:
        assert session.scalars(select(Attempt)).first() is None
    # The same id still records the learner's real answer once it is well formed.
    fixed = client.post(
        "/api/v1/attempts",
        headers=bearer(token),
        json={**body, "responses": [[0, 1, 3], "reply", "3"]},
    )
    assert fixed.status_code == 200 and fixed.json["score"] == 1.0


def test_the_authors_feedback_reaches_the_page_sanitised(
    lti: LtiHarness, client: FlaskClient
) -> None:
    with session_scope() as session:
        activity = session.scalars(select(Activity).where(Activity.key == QUIZ)).one()
        content = dict(activity.content or {})
        questions = [dict(q) for q in content["questions"]]
        questions[0]["explanation"] = (
            "**Why:** see [the guide](https://docs.example/guide). "
            "<script>alert(1)</script> [click](javascript:alert(2)) "
            '<img src=x onerror="alert(3)">'
        )
        activity.content = {**content, "questions": questions}
    token = _token(lti)
    out = _attempt(client, token, QUIZ, [0] * len(questions))
    html = out["feedback"][0]["feedback_html"]
    assert "<strong>Why:</strong>" in html
    assert 'href="https://docs.example/guide"' in html and 'target="_blank"' in html
    assert "<script" not in html and "<img" not in html
    # The javascript: link is no link at all: the guide's is the only anchor.
    assert html.count("<a ") == 1 and 'href="javascript' not in html
    assert out["feedback"][0]["feedback"] == questions[0]["explanation"]
