"""A launch whose state cookie never comes back still ends on the learner page.

The development LMS behaves as Moodle does: its ``lti_message_hint`` names a launch
id used up by the first auth request, and ``/mod/lti/launch.php?id=<cmid>`` starts
a fresh launch for the signed-in user. Launches are real and signed; the browser is
told apart only by what it would do with cookies (a cross-site frame keeps none of
the tool's; a window over http does not send a SameSite=Lax cookie on the LMS's
cross-site form post, but does on the tool's own).
"""

from __future__ import annotations

import html
import json
import re
from typing import Any
from urllib.parse import urljoin

import requests

from lti_tool.devplatform.model import LEARNER
from lti_tool.devplatform.vocabulary import DEV_PREFIX
from lti_tool.lti.login import STATE_COOKIE_PREFIX
from tests.lti_browser import LaunchRun, LtiBrowser, parse_form
from tests.lti_platform import LtiHarness, assert_learner_page, rejection_lines

FIRST_LINK_CMID = 1


def _drop_state_cookies(browser: LtiBrowser) -> None:
    """What a cross-site frame does with the tool's cookies: it keeps none."""
    for cookie in list(browser.http.cookies):
        if cookie.name.startswith(STATE_COOKIE_PREFIX):
            browser.http.cookies.clear(cookie.domain, cookie.path, cookie.name)


def _start_at_lms(browser: LtiBrowser, lti: LtiHarness, **form: str) -> str:
    """Sign in to the LMS and open an activity: the login initiation it auto-posts."""
    page = browser.http.post(
        lti.lms.server.url + DEV_PREFIX + "/launch",
        data={"user": LEARNER.label, **form},
        timeout=15,
    )
    assert page.status_code == 200, page.text[:500]
    return page.text


def _login_and_auth(
    browser: LtiBrowser, initiation_page: str
) -> tuple[str, str, dict[str, str]]:
    """Post the initiation to the tool, follow it to the LMS: (auth URL, form)."""
    action, fields = parse_form(initiation_page)
    login = browser.http.post(action, data=fields, allow_redirects=False, timeout=15)
    assert login.status_code == 302, login.text[:500]
    auth_url = urljoin(action, login.headers["Location"])
    auth = browser.http.get(auth_url, timeout=15)
    assert auth.status_code == 200, auth.text[:500]
    launch_action, launch_fields = parse_form(auth.text)
    return auth_url, launch_action, launch_fields


def _new_window_link(page: str) -> str:
    match = re.search(r'<a class="button" href="([^"]+)" target="_blank"', page)
    assert match is not None, page[:2000]
    return html.unescape(match.group(1))


def test_frame_without_cookies_opens_a_fresh_lms_launch_in_a_new_window(
    lti: LtiHarness, launch_log: Any
) -> None:
    browser = lti.browser()
    initiation = _start_at_lms(browser, lti, link=next(iter(lti.platform.links)))
    auth_url, action, fields = _login_and_auth(browser, initiation)
    _drop_state_cookies(browser)

    blocked = browser.http.post(
        action, data=fields, headers={"Sec-Fetch-Dest": "iframe"}, timeout=30
    )

    assert blocked.status_code == 400
    assert 'data-where="frame"' in blocked.text
    assert "inside this course frame" in blocked.text
    assert rejection_lines(launch_log) == [
        "launch rejected: bad_state cookies blocked (frame); "
        "offering a fresh launch from the LMS"
    ]
    # Replaying the frame's login cannot work: the LMS used its hint up.
    replayed = browser.http.get(auth_url, timeout=15)
    assert replayed.status_code == 404
    assert "Invalid request" in replayed.text

    link = _new_window_link(blocked.text)
    assert link == (
        f"{lti.lms.issuer}/mod/lti/launch.php?id={FIRST_LINK_CMID}&triggerview=0"
    )
    # The new window: the LMS starts again (a new hint); the tool's cookie is
    # first-party there, but the LMS's cross-site form post does not carry it.
    window = browser.http.get(link, timeout=15)
    assert window.status_code == 200, window.text[:500]
    _, action, fields = _login_and_auth(browser, window.text)
    cross_site = requests.post(
        action, data=fields, headers={"Sec-Fetch-Dest": "document"}, timeout=30
    )
    answer = browser.follow_repost(
        cross_site, action, headers={"Sec-Fetch-Dest": "document"}
    )

    assert_learner_page(
        LaunchRun(
            fields=fields, launch_response=answer, response=answer, browser=browser
        )
    )


def test_window_over_http_finishes_the_launch_with_its_own_repost(
    lti: LtiHarness,
) -> None:
    """Moodle's "New window" container over http: SameSite=Lax on a cross-site POST."""
    browser = lti.browser()
    initiation = _start_at_lms(browser, lti, link=next(iter(lti.platform.links)))
    _, action, fields = _login_and_auth(browser, initiation)

    cross_site = requests.post(
        action, data=fields, headers={"Sec-Fetch-Dest": "document"}, timeout=30
    )
    assert cross_site.status_code == 200
    assert 'id="repost"' in cross_site.text
    answer = browser.follow_repost(
        cross_site, action, headers={"Sec-Fetch-Dest": "document"}
    )

    assert_learner_page(
        LaunchRun(
            fields=fields, launch_response=answer, response=answer, browser=browser
        )
    )


def test_window_that_never_gets_the_cookie_says_so_in_window_words(
    lti: LtiHarness, launch_log: Any
) -> None:
    browser = lti.browser()
    initiation = _start_at_lms(browser, lti, link=next(iter(lti.platform.links)))
    _, action, fields = _login_and_auth(browser, initiation)
    _drop_state_cookies(browser)

    first = browser.http.post(
        action, data=fields, headers={"Sec-Fetch-Dest": "document"}, timeout=30
    )
    page = browser.follow_repost(first, action, headers={"Sec-Fetch-Dest": "document"})

    assert page.status_code == 400
    assert 'id="in-frame"' in page.text
    window_part = page.text.split('id="in-window"', 1)[1]
    assert "hidden" not in window_part.split(">", 1)[0]
    assert "could not finish the launch" in window_part
    assert "Launch again" in window_part
    assert rejection_lines(launch_log)[0].startswith(
        "launch rejected: bad_state cookies blocked (window)"
    )


def test_deep_linking_in_a_cookieless_frame_explains_instead_of_replaying(
    lti: LtiHarness, launch_log: Any
) -> None:
    """Moodle's deep-linking hint has no course module: no page starts it again."""
    browser = lti.browser()
    initiation = _start_at_lms(browser, lti, mode="deep_link")
    _, action, fields = _login_and_auth(browser, initiation)
    _drop_state_cookies(browser)

    blocked = browser.http.post(
        action, data=fields, headers={"Sec-Fetch-Dest": "iframe"}, timeout=30
    )

    assert blocked.status_code == 400
    assert 'target="_blank"' not in blocked.text
    assert "cannot start this step again in a new window" in blocked.text
    assert "serve Pathwise over https" in blocked.text
    assert rejection_lines(launch_log) == [
        "launch rejected: bad_state cookies blocked (frame); "
        "no new-window launch for this LMS message"
    ]


def test_a_window_with_platform_storage_reposts_instead_of_asking_a_frame(
    lti: LtiHarness,
) -> None:
    """A Canvas-style login opened in a window has no LMS frame to answer storage."""
    browser = lti.browser()
    initiation = _start_at_lms(
        browser, lti, link=next(iter(lti.platform.links)), storage="1"
    )
    action, fields = parse_form(initiation)
    assert fields["lti_storage_target"]
    login = browser.http.post(action, data=fields, timeout=15)
    assert login.status_code == 200  # the platform-storage page, then the LMS
    auth_url = re.search(r'location\.replace\(("[^"]+")\)', login.text)
    assert auth_url is not None, login.text[:1500]
    auth = browser.http.get(json.loads(auth_url.group(1)), timeout=15)
    launch_action, launch_fields = parse_form(auth.text)

    cross_site = requests.post(
        launch_action,
        data=launch_fields,
        headers={"Sec-Fetch-Dest": "document"},
        timeout=30,
    )
    assert 'id="repost"' in cross_site.text
    answer = browser.follow_repost(
        cross_site, launch_action, headers={"Sec-Fetch-Dest": "document"}
    )
    assert_learner_page(
        LaunchRun(
            fields=launch_fields,
            launch_response=answer,
            response=answer,
            browser=browser,
        )
    )
