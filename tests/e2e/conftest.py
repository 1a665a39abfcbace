"""End-to-end fixtures: the live development LMS and live Pathwise (tests/lti_platform.py),
and the demo install with a Chromium tab for the browser tests (tests/browser_support.py)."""

from tests.browser_support import demo_install, demo_url, page  # noqa: F401
from tests.lti_platform import launch_log, live_tool, lms, lti  # noqa: F401
