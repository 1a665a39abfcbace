"""Test support: a browser-like client walking the LTI flow between a live LMS and tool.

``LtiBrowser`` walks the launch as a browser would: login initiation, redirect to the
LMS, the auto-posted id_token and the tool's state cookie; ``parse_form`` reads the
auto-posting forms on the way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import parse_qs, urljoin, urlparse

import requests

from lti_tool.devplatform.model import LEARNER, SampleUser
from lti_tool.devplatform.overrides import DROP
from lti_tool.devplatform.vocabulary import MESSAGE_RESOURCE_LINK
from lti_tool.infra.db import session_scope
from lti_tool.infra.models import Registration
from tests.live_servers import LivePlatform, LiveTool


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(
                (values.get("action", ""), values.get("method", "get"), {})
            )
        elif tag == "input" and self.forms and values.get("name"):
            if values.get("type") in {"checkbox", "radio"} and "checked" not in values:
                return
            self.forms[-1][2][values["name"]] = values.get("value", "")


def parse_form(page: str, index: int = 0) -> tuple[str, dict[str, str]]:
    """The action and the submitted fields of a page's form (auto-posting forms)."""
    parser = _FormParser()
    parser.feed(page)
    if len(parser.forms) <= index:
        raise AssertionError(f"no form #{index} in page:\n{page[:2000]}")
    action, _, fields = parser.forms[index]
    return action, fields


@dataclass
class AuthRequest:
    """The tool's redirect to the LMS after login: where to, with which state and nonce."""

    url: str
    params: dict[str, str]
    login_response: requests.Response

    @property
    def state(self) -> str:
        return self.params["state"]

    @property
    def nonce(self) -> str:
        return self.params["nonce"]


@dataclass
class LaunchRun:
    """One launch walked end to end: what was posted and what the tool answered."""

    fields: dict[str, str]
    launch_response: requests.Response
    response: requests.Response
    browser: LtiBrowser
    auth: AuthRequest | None = None

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def text(self) -> str:
        return self.response.text


@dataclass
class LtiBrowser:
    """A cookie-keeping client walking the LTI flow between a live LMS and a live tool."""

    lms: LivePlatform
    tool: LiveTool
    client_id: str | None = None
    http: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        # Browsers accept Secure cookies from http://127.0.0.1 (a trustworthy origin).
        self.http.cookies.set_policy(
            DefaultCookiePolicy(secure_protocols=("https", "wss", "http"))
        )

    def login(
        self,
        user: SampleUser | str = LEARNER,
        *,
        message_type: str = MESSAGE_RESOURCE_LINK,
        method: str = "POST",
        login_url: str | None = None,
        **overrides: Any,
    ) -> AuthRequest:
        """Start a launch at the LMS and send its login initiation to the tool."""
        initiation = self.lms.platform.start_launch(
            user,
            message_type=message_type,
            client_id=self.client_id or self.tool_client_id,
            **overrides,
        )
        target = login_url or initiation.login_url
        if method == "GET":
            response = self.http.get(
                target, params=initiation.params, allow_redirects=False, timeout=15
            )
        else:
            response = self.http.post(
                target, data=initiation.params, allow_redirects=False, timeout=15
            )
        if response.status_code != 302:
            raise AssertionError(
                f"login answered {response.status_code}, not a redirect:\n{response.text}"
            )
        location = urljoin(target, response.headers["Location"])
        params = {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}
        return AuthRequest(url=location, params=params, login_response=response)

    @property
    def tool_client_id(self) -> str:
        with session_scope() as session:
            registration = session.get(Registration, self.tool.registration_id)
            assert registration is not None
            return registration.client_id

    def authorize(self, auth: AuthRequest) -> tuple[str, dict[str, str]]:
        """Follow the tool's redirect to the LMS; return the auto-posted form."""
        response = self.http.get(auth.url, allow_redirects=False, timeout=15)
        if response.status_code != 200:
            raise AssertionError(
                f"LMS auth answered {response.status_code}:\n{response.text}"
            )
        return parse_form(response.text)

    def post_launch(
        self,
        fields: Mapping[str, str],
        *,
        to: str | None = None,
        follow: bool = True,
    ) -> tuple[requests.Response, requests.Response]:
        """POST the id_token form to the tool; return (launch answer, final page)."""
        target = to or self.tool.launch_url
        answer = self.http.post(
            target, data=dict(fields), allow_redirects=False, timeout=30
        )
        answer = self.follow_repost(answer, target)
        final = answer
        if follow and answer.status_code in {302, 303}:
            final = self.http.get(
                urljoin(target, answer.headers["Location"]),
                allow_redirects=True,
                timeout=30,
            )
        return answer, final

    def follow_repost(
        self, answer: requests.Response, target: str, **kwargs: Any
    ) -> requests.Response:
        """Submit the tool's same-site re-post of a cookieless launch, as its script does."""
        if answer.status_code != 200 or 'id="repost"' not in answer.text:
            return answer
        action, fields = parse_form(answer.text)
        return self.http.post(
            urljoin(target, action),
            data=fields,
            allow_redirects=False,
            timeout=30,
            **kwargs,
        )

    def launch(
        self,
        user: SampleUser | str = LEARNER,
        *,
        message_type: str = MESSAGE_RESOURCE_LINK,
        method: str = "POST",
        form_changes: Mapping[str, Any] | None = None,
        post_to: str | None = None,
        login_url: str | None = None,
        **overrides: Any,
    ) -> LaunchRun:
        """The whole flow: login, LMS auth, id_token POST, landing page.

        ``overrides`` reach the id_token (see DevPlatform.make_id_token);
        ``form_changes`` alter the posted form (DROP removes a field).
        """
        auth = self.login(
            user,
            message_type=message_type,
            method=method,
            login_url=login_url,
            **overrides,
        )
        action, fields = self.authorize(auth)
        assert action == auth.params["redirect_uri"]
        for name, value in (form_changes or {}).items():
            if value is DROP:
                fields.pop(name, None)
            else:
                fields[name] = value
        answer, final = self.post_launch(fields, to=post_to)
        return LaunchRun(
            fields=fields,
            launch_response=answer,
            response=final,
            browser=self,
            auth=auth,
        )

    def post_id_token(
        self,
        make_token: Callable[[AuthRequest], str],
        *,
        user: SampleUser | str = LEARNER,
        state: str | None = None,
    ) -> LaunchRun:
        """A real login, then a hand-crafted id_token posted with its state and cookie.

        ``make_token`` gets the tool's auth request (state, nonce) and returns the token.
        """
        auth = self.login(user)
        fields = {
            "id_token": make_token(auth),
            "state": auth.state if state is None else state,
        }
        answer, final = self.post_launch(fields)
        return LaunchRun(
            fields=fields,
            launch_response=answer,
            response=final,
            browser=self,
            auth=auth,
        )
