"""LTI protocol: where a new window starts a fresh launch when a frame keeps no cookie.

Replaying the frame's own login does not work everywhere: Moodle's
``lti_message_hint`` names a launch id that ``mod/lti/auth.php`` deletes on first use,
so a second auth request with it ends in Moodle's "Invalid request". Moodle's own
launch page for the activity (``mod/lti/launch.php?id=<cmid>``) starts a fresh one,
with a new hint, in the new window. Platforms whose hint can be used again (Canvas,
the LTI reference implementation) get the frame's login again, hint included.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

# A Moodle course-module id is an integer; anything else is not Moodle's hint.
_CMID = re.compile(r"[0-9]{1,18}")


@dataclass(frozen=True)
class Relaunch:
    """The URL a new window opens, and whether it is the LMS's own fresh launch.

    ``url`` is None when neither works: Moodle's single-use hint of a step that no
    Moodle page starts again from a link (Deep Linking).
    """

    url: str | None
    fresh_from_lms: bool


def moodle_hint(message_hint: str) -> dict[str, Any] | None:
    """Moodle's hint (``{"cmid": 7, "launchid": "ltilaunch3_..."}``), or None if not."""
    try:
        hint: Any = json.loads(message_hint)
    except ValueError:
        return None
    if not isinstance(hint, dict) or not isinstance(hint.get("launchid"), str):
        return None
    return hint


def moodle_course_module(hint: Mapping[str, Any]) -> str | None:
    """The course-module id in Moodle's hint, if it has one.

    Moodle puts ``cmid`` in the hint of resource-link launches only; a deep-linking
    hint has just ``launchid`` and no page that starts it again from a GET.
    """
    cmid = hint.get("cmid")
    if isinstance(cmid, bool) or not isinstance(cmid, int | str):
        return None
    text = str(cmid)
    return text if _CMID.fullmatch(text) else None


def new_window_launch(
    *, issuer: str, login_params: Mapping[str, str], tool_login_url: str
) -> Relaunch:
    """Where "open in a new window" goes for a login that ran in a cookieless frame.

    ``issuer`` is the registration's (never a value from the request), so the URL
    stays on the LMS the tool is registered with.
    """
    hint = moodle_hint(login_params.get("lti_message_hint") or "")
    if hint is not None:
        cmid = moodle_course_module(hint)
        if cmid is None:
            return Relaunch(url=None, fresh_from_lms=False)
        # Moodle's iss is its wwwroot; its launch page starts a new login (new hint).
        query = urlencode({"id": cmid, "triggerview": "0"})
        return Relaunch(
            url=issuer.rstrip("/") + "/mod/lti/launch.php?" + query,
            fresh_from_lms=True,
        )
    params = {k: v for k, v in login_params.items() if k != "lti_storage_target"}
    return Relaunch(url=tool_login_url + "?" + urlencode(params), fresh_from_lms=False)
