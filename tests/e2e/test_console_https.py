"""The console over https, as production runs it: served directly, and behind a TLS proxy.

Both run `pathwise serve` (gunicorn) as a real process on the test database. Over
https Flask-WTF's CSRF check needs a same-origin Referer, so the sign-in also proves
the Referrer-Policy keeps it (and that no page sets ``no-referrer``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import Engine

from admin.users import create_admin_user
from lti_tool.infra.config import Settings
from lti_tool.infra.db import session_scope
from lti_tool.web.security_headers import REFERRER_POLICY
from tests.admin_support import PASSWORD, SESSION_COOKIE, csrf
from tests.live_servers import served_by_gunicorn, write_self_signed_cert
from tests.support_env import require_service, truncate_all

CHROMIUM = os.environ.get("PATHWISE_CHROMIUM", "/usr/bin/chromium")
USERNAME = "https-admin"
PUBLIC_HOST = "pathwise.example.test"


@pytest.fixture
def admin_account(settings: Settings, engine: Engine) -> Iterator[str]:
    with session_scope() as session:
        create_admin_user(session, username=USERNAME, password=PASSWORD)
    yield USERNAME
    truncate_all(engine)


@pytest.fixture
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        require_service("Chromium", f"{CHROMIUM} not found (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox"]
        )
        try:
            yield browser
        finally:
            browser.close()


def test_console_sign_in_and_a_form_over_direct_https(
    settings: Settings, admin_account: str, chromium: Any, tmp_path: Path
) -> None:
    tls = write_self_signed_cert(tmp_path)
    with served_by_gunicorn(
        settings, public_url="https://127.0.0.1:{port}", tls=tls
    ) as url:
        assert url.startswith("https://")
        context = chromium.new_context(ignore_https_errors=True)
        page = context.new_page()
        page.set_default_timeout(20_000)
        login = page.goto(url + "/admin/login")
        assert login is not None
        assert login.headers["referrer-policy"] == REFERRER_POLICY
        assert 'name="referrer"' not in page.content()

        page.fill("input[name=username]", admin_account)
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation():
            page.click("button[type=submit], input[type=submit]")

        assert page.url == url + "/admin/", page.content()[:1000]
        assert "The referrer header is missing" not in page.content()
        cookies = {c["name"]: c for c in context.cookies()}
        assert cookies["pathwise_session"]["secure"] is True

        # More forms after sign-in (POST, CSRF over https): a registration URL...
        page.goto(url + "/admin/platforms")
        with page.expect_navigation():
            page.click("text=Create a Dynamic Registration URL")
        registration = page.locator("code[data-value=registration]").inner_text()
        assert registration.startswith(url + "/lti/register?invite=")
        # ...and signing out, which lands on the sign-in page.
        signed_in = page.content()
        assert 'action="/admin/logout"' in signed_in, signed_in[:2000]
        with page.expect_navigation():
            page.click("form[action='/admin/logout'] button")
        assert "/admin/login" in page.url
        context.close()


def test_console_sign_in_behind_a_tls_proxy_with_the_documented_headers(
    settings: Settings, admin_account: str
) -> None:
    """The proxy of docs/operations.md: Host passed through, X-Forwarded-Proto/-For."""
    public = f"https://{PUBLIC_HOST}"
    with served_by_gunicorn(
        settings,
        public_url=public,
        env={"PATHWISE_PROXY_HOPS": "1", "FORWARDED_ALLOW_IPS": "127.0.0.1"},
    ) as url:
        proxied = {
            "Host": PUBLIC_HOST,
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": "203.0.113.7",
        }
        http = requests.Session()
        form = http.get(url + "/admin/login", headers=proxied, timeout=15)
        assert form.status_code == 200
        assert form.headers["Referrer-Policy"] == REFERRER_POLICY
        assert "Secure" in form.headers["Set-Cookie"]
        # The browser talks https to the proxy, so it sends the Secure cookie back
        # (requests' jar will not over the proxy-to-app http hop: set it by hand).
        cookie = {"Cookie": f"{SESSION_COOKIE}={form.cookies[SESSION_COOKIE]}"}

        signed_in = http.post(
            url + "/admin/login",
            data={
                "username": admin_account,
                "password": PASSWORD,
                "csrf_token": csrf(form.content),
            },
            headers={
                **proxied,
                **cookie,
                "Referer": f"{public}/admin/login",
                "Origin": public,
            },
            allow_redirects=False,
            timeout=15,
        )

        assert signed_in.status_code == 302, signed_in.text[:800]
        assert signed_in.headers["Location"] in {"/admin/", f"{public}/admin/"}
        signed_in_cookie = {
            "Cookie": f"{SESSION_COOKIE}={signed_in.cookies[SESSION_COOKIE]}"
        }
        console = http.get(
            url + "/admin/",
            headers={**proxied, **signed_in_cookie},
            allow_redirects=False,
            timeout=15,
        )
        assert console.status_code == 200, console.text[:500]

        # A valid token without the same-origin Referer is still refused (CSRF intact).
        refused = http.post(
            url + "/admin/login",
            data={
                "username": admin_account,
                "password": PASSWORD,
                "csrf_token": csrf(form.content),
            },
            headers={**proxied, **cookie},
            allow_redirects=False,
            timeout=15,
        )
        assert refused.status_code == 400
