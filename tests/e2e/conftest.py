"""End-to-end fixtures: the live development LMS and live Pathwise (tests/lti_platform.py)."""

from tests.lti_platform import launch_log, live_tool, lms, lti  # noqa: F401
