"""Pure xAPI core: external xAPI content: its launch URL and judging what it sends.

Content is launched with the common ("Rustici") launch convention: the launch URL
carries ``endpoint``, ``auth``, ``actor``, ``registration`` and ``activity_id`` query
parameters, and the content sends its statements to ``endpoint`` with ``auth`` as
the Authorization header. What it sends is held to the strict statement rules and
to the launch it was given: the same actor and the same registration.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from xapi.core import profile
from xapi.core.actors import actor_key
from xapi.core.validation import validate_statement

LAUNCH_PARAMETERS = ("endpoint", "auth", "actor", "registration", "activity_id")
# The verbs that report an outcome of the activity itself (ADL registry).
OUTCOME_VERBS: Mapping[str, str] = {
    profile.VERBS["completed"]: "completed",
    profile.VERBS["passed"]: "passed",
    profile.VERBS["failed"]: "failed",
}


def launch_url(
    url: str,
    *,
    endpoint: str,
    auth: str,
    actor: Mapping[str, Any],
    registration: str,
    activity_id: str,
) -> str:
    """``url`` with the launch parameters added (its own query kept, ours replacing).

    Values are percent-encoded with ``%20`` for spaces, not ``+``: content decodes
    them with JavaScript's ``decodeURIComponent``, which leaves ``+`` as it is.
    """
    parts = urlsplit(url)
    own = [(k, v) for k, v in parse_qsl(parts.query) if k not in LAUNCH_PARAMETERS]
    ours = [
        ("endpoint", endpoint),
        ("auth", auth),
        ("actor", json.dumps(dict(actor), separators=(",", ":"), sort_keys=True)),
        ("registration", registration),
        ("activity_id", activity_id),
    ]
    query = urlencode([*own, *ours], quote_via=quote, safe="")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


@dataclass(frozen=True)
class Refusal:
    """Why the facade refuses a statement: an HTTP status, a code and a sentence."""

    status: int
    code: str
    message: str


def judge_content_statement(
    statement: Any, *, actor: Mapping[str, Any], registration: str
) -> Refusal | None:
    """None when the statement may go on to the LRS for this launch, else why not.

    The strict rules first (what a conformant LRS would refuse), then the launch:
    the actor must be the learner it was launched for (same identifier) and the
    context must carry the launch's registration. Voiding is refused: content
    launched for one sitting has no business erasing statements.
    """
    problems = validate_statement(statement)
    if problems:
        return Refusal(400, "invalid_statement", "; ".join(problems[:5]))
    if actor_key(statement.get("actor")) != actor_key(dict(actor)):
        return Refusal(
            403, "other_actor", "This credential writes for its own learner only."
        )
    context = statement.get("context")
    given = context.get("registration") if isinstance(context, dict) else None
    if not isinstance(given, str) or given.lower() != registration.lower():
        return Refusal(
            403,
            "other_registration",
            "Statements must carry the registration they were launched with.",
        )
    verb = statement.get("verb", {}).get("id")
    if verb == profile.VERB_VOIDED:
        return Refusal(403, "voiding_refused", "Content cannot void statements.")
    return None


@dataclass(frozen=True)
class ContentOutcome:
    """An outcome the content reported for its own activity: what becomes an attempt."""

    verb: str
    score: float | None


def content_outcome(
    statement: Mapping[str, Any], *, activity_id: str
) -> ContentOutcome | None:
    """The outcome in a judged statement about ``activity_id``, or None.

    Only ``completed``, ``passed`` and ``failed`` on the launched activity itself
    count (statements on its questions or pages are the content's business). The
    score is ``score.scaled``, else ``raw`` within ``min``..``max``; without one, a
    ``passed`` is 1 and a ``failed`` 0, and a bare ``completed`` is unscored.
    """
    target = statement.get("object")
    verb = OUTCOME_VERBS.get(str(statement.get("verb", {}).get("id", "")))
    if verb is None or not isinstance(target, dict):
        return None
    if target.get("objectType", "Activity") != "Activity":
        return None
    if target.get("id") != activity_id:
        return None
    result = statement.get("result")
    score = _score(result.get("score")) if isinstance(result, dict) else None
    if score is None and verb != "completed":
        score = 1.0 if verb == "passed" else 0.0
    return ContentOutcome(verb=verb, score=score)


def _score(score: Any) -> float | None:
    if not isinstance(score, dict):
        return None
    scaled = score.get("scaled")
    if isinstance(scaled, int | float) and not isinstance(scaled, bool):
        # xAPI allows -1..1; the engine reads 0..1, and below 0 is nothing right.
        return max(0.0, min(1.0, float(scaled)))
    numbers = [
        float(v)
        for v in (score.get("raw"), score.get("min"), score.get("max"))
        if isinstance(v, int | float) and not isinstance(v, bool)
    ]
    if len(numbers) == 3:
        raw, low, high = numbers
        span = high - low
        if span > 0 and math.isfinite(span):
            return max(0.0, min(1.0, (raw - low) / span))
    return None
