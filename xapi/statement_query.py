"""The filters of a GET /statements query and the page an LRS answers with."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from xapi.core.formats import format_timestamp


@dataclass(frozen=True)
class StatementQuery:
    """Filters of GET /statements (xAPI 1.0.3 section 2.1.3)."""

    agent: Mapping[str, Any] | None = None
    verb: str | None = None
    activity: str | None = None
    registration: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    limit: int = 500
    ascending: bool = True
    related_activities: bool = False

    def params(self) -> dict[str, str]:
        params: dict[str, str] = {
            "limit": str(self.limit),
            "ascending": "true" if self.ascending else "false",
        }
        if self.agent is not None:
            params["agent"] = json.dumps(self.agent, separators=(",", ":"))
        if self.verb:
            params["verb"] = self.verb
        if self.activity:
            params["activity"] = self.activity
            if self.related_activities:
                params["related_activities"] = "true"
        if self.registration:
            params["registration"] = self.registration
        if self.since is not None:
            params["since"] = format_timestamp(self.since)
        if self.until is not None:
            params["until"] = format_timestamp(self.until)
        return params


@dataclass
class Page:
    statements: list[Any]
    more: str | None
    consistent_through: dt.datetime | None
    elapsed_s: float = 0.0
