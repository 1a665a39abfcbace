"""Development LMS (core): AGS line items, scores and results, NRPS; Moodle's rules."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeGuard

from lti_tool.devplatform.errors import ServiceError
from lti_tool.devplatform.model import LineItem, ScoreRecord
from lti_tool.devplatform.state import PlatformState
from lti_tool.devplatform.vocabulary import (
    ACTIVITY_PROGRESS,
    GRADING_PROGRESS,
    MEDIA_SCORE,
)


def _parse_timestamp(value: Any) -> dt.datetime:
    if not isinstance(value, str) or not value:
        raise ValueError("timestamp must be an ISO 8601 string")
    moment = dt.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("timestamp must carry a time zone")
    return moment


def is_number(value: Any) -> TypeGuard[int | float]:
    """A JSON number, as the services accept it (``true`` is not one)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


class LtiServices(PlatformState):
    """The services a tool calls with an access token: AGS and NRPS.

    They refuse what Moodle refuses, so the tool's grade write-back is tested
    against the strictest rules it meets in production.
    """

    # --------------------------------------------------------------- AGS

    def next_ags_fault(self) -> str | None:
        """Take the next rehearsed outage answer (``ags_faults``), oldest first."""
        with self._lock:
            return self.ags_faults.pop(0) if self.ags_faults else None

    def _lineitem(self, context_id: str, item_id: int) -> LineItem:
        item = self.lineitems.get(item_id)
        if item is None or item.context_id != context_id:
            raise ServiceError(
                "not_found", f"No line item {item_id} in {context_id!r}.", 404
            )
        return item

    def lineitem_json(self, item: LineItem) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.lineitem_url(item),
            "label": item.label,
            "scoreMaximum": item.score_maximum,
        }
        optional = {
            "resourceLinkId": item.resource_link_id,
            "resourceId": item.resource_id,
            "tag": item.tag,
            "startDateTime": item.start_date_time,
            "endDateTime": item.end_date_time,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        return body

    def list_lineitems(
        self,
        context_id: str,
        *,
        resource_link_id: str | None = None,
        resource_id: str | None = None,
        tag: str | None = None,
    ) -> list[dict[str, Any]]:
        self._course(context_id)
        with self._lock:
            items = [i for i in self.lineitems.values() if i.context_id == context_id]
        if resource_link_id is not None:
            items = [i for i in items if i.resource_link_id == resource_link_id]
        if resource_id is not None:
            items = [i for i in items if i.resource_id == resource_id]
        if tag is not None:
            items = [i for i in items if i.tag == tag]
        return [self.lineitem_json(i) for i in items]

    def _lineitem_fields(self, context_id: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ServiceError(
                "invalid_request", "The line item must be a JSON object."
            )
        label = body.get("label")
        if not isinstance(label, str) or not label.strip():
            raise ServiceError("invalid_request", "label is required.")
        maximum = body.get("scoreMaximum")
        if not is_number(maximum) or maximum <= 0:
            raise ServiceError(
                "invalid_request", "scoreMaximum must be a number above 0."
            )
        link_id = body.get("resourceLinkId")
        if link_id is not None:
            link = self.links.get(str(link_id))
            if link is None or link.context_id != context_id:
                raise ServiceError(
                    "invalid_request",
                    f"resourceLinkId {link_id!r} is not in this course.",
                )
        return {
            "label": label,
            "score_maximum": float(maximum),
            "resource_link_id": None if link_id is None else str(link_id),
            "resource_id": body.get("resourceId"),
            "tag": body.get("tag"),
            "start_date_time": body.get("startDateTime"),
            "end_date_time": body.get("endDateTime"),
        }

    def create_lineitem(self, context_id: str, body: Any) -> dict[str, Any]:
        self._course(context_id)
        fields = self._lineitem_fields(context_id, body)
        with self._lock:
            item = self._new_lineitem(context_id, **fields)
        return self.lineitem_json(item)

    def get_lineitem(self, context_id: str, item_id: int) -> dict[str, Any]:
        return self.lineitem_json(self._lineitem(context_id, item_id))

    def update_lineitem(
        self, context_id: str, item_id: int, body: Any
    ) -> dict[str, Any]:
        item = self._lineitem(context_id, item_id)
        fields = self._lineitem_fields(context_id, body)
        with self._lock:
            for name, value in fields.items():
                setattr(item, name, value)
        return self.lineitem_json(item)

    def delete_lineitem(self, context_id: str, item_id: int) -> None:
        item = self._lineitem(context_id, item_id)
        with self._lock:
            del self.lineitems[item.id]
            self.scores = [s for s in self.scores if s.lineitem_id != item.id]

    def post_score(
        self, context_id: str, item_id: int, body: Any, content_type: str | None
    ) -> ScoreRecord:
        """Record a score under Moodle's rules.

        Required fields; scoreGiven only when FullyGraded; 409 unless the timestamp
        is later (whole seconds) than the user's last one on this line item.
        """
        item = self._lineitem(context_id, item_id)
        media = (content_type or "").split(";")[0].strip().lower()
        if media != MEDIA_SCORE:
            raise ServiceError(
                "unsupported_media_type", f"Content-Type must be {MEDIA_SCORE}.", 415
            )
        if not isinstance(body, dict):
            raise ServiceError("invalid_request", "The score must be a JSON object.")
        missing = [
            name
            for name in ("userId", "timestamp", "activityProgress", "gradingProgress")
            if body.get(name) in (None, "")
        ]
        if missing:
            raise ServiceError(
                "invalid_request", f"The score is missing {', '.join(missing)}."
            )
        if body["activityProgress"] not in ACTIVITY_PROGRESS:
            raise ServiceError(
                "invalid_request", "activityProgress is not a known value."
            )
        if body["gradingProgress"] not in GRADING_PROGRESS:
            raise ServiceError(
                "invalid_request", "gradingProgress is not a known value."
            )
        try:
            moment = _parse_timestamp(body["timestamp"])
        except ValueError as exc:
            raise ServiceError("invalid_request", f"Bad timestamp: {exc}.") from None
        user_id = str(body["userId"])
        if user_id not in self._course(context_id).member_subs:
            raise ServiceError(
                "invalid_request", f"User {user_id!r} is not in this course."
            )
        score_given: float | None = None
        score_maximum: float | None = None
        if body.get("scoreGiven") is not None:
            given, maximum = body.get("scoreGiven"), body.get("scoreMaximum")
            if not is_number(given) or given < 0:
                raise ServiceError(
                    "invalid_request", "scoreGiven must be a number, at least 0."
                )
            if not is_number(maximum) or maximum <= 0:
                raise ServiceError(
                    "invalid_request", "scoreMaximum is required with scoreGiven."
                )
            if body["gradingProgress"] == "FullyGraded":
                score_given, score_maximum = float(given), float(maximum)
        comment = body.get("comment")
        seconds = int(moment.timestamp())
        with self._lock:
            previous = [
                s
                for s in self.scores
                if s.lineitem_id == item.id and s.user_id == user_id
            ]
            if previous and seconds <= previous[-1].timestamp_s:
                raise ServiceError(
                    "conflict",
                    "The timestamp is not later than this user's last score.",
                    409,
                )
            record = ScoreRecord(
                lineitem_id=item.id,
                user_id=user_id,
                timestamp=str(body["timestamp"]),
                timestamp_s=seconds,
                activity_progress=str(body["activityProgress"]),
                grading_progress=str(body["gradingProgress"]),
                score_given=score_given,
                score_maximum=score_maximum,
                comment=comment if isinstance(comment, str) else None,
                received_at=self.clock(),
            )
            self.scores.append(record)
        return record

    def list_results(
        self, context_id: str, item_id: int, *, user_id: str | None = None
    ) -> list[dict[str, Any]]:
        """The latest result per user, scaled to the line item's maximum (Moodle)."""
        item = self._lineitem(context_id, item_id)
        latest: dict[str, ScoreRecord] = {}
        with self._lock:
            for record in self.scores:
                if record.lineitem_id == item.id:
                    latest[record.user_id] = record
        results = []
        for uid, record in latest.items():
            if user_id is not None and uid != user_id:
                continue
            result: dict[str, Any] = {
                "id": f"{self.lineitem_url(item)}/results/{uid}",
                "scoreOf": self.lineitem_url(item),
                "userId": uid,
                "resultMaximum": item.score_maximum,
            }
            if record.score_given is not None and record.score_maximum:
                result["resultScore"] = (
                    record.score_given / record.score_maximum * item.score_maximum
                )
            if record.comment is not None:
                result["comment"] = record.comment
            results.append(result)
        return results

    # --------------------------------------------------------------- NRPS

    def memberships(
        self, context_id: str, *, role: str | None = None
    ) -> dict[str, Any]:
        course = self._course(context_id)
        members = []
        for sub in course.member_subs:
            user = self.users[sub]
            if role is not None and role not in user.roles:
                continue
            members.append(
                {
                    "status": "Active",
                    "user_id": user.sub,
                    "roles": list(user.roles),
                    **user.personal_claims(),
                }
            )
        return {
            "id": self.memberships_url(course.id),
            "context": {"id": course.id, "label": course.label, "title": course.title},
            "members": members,
        }
