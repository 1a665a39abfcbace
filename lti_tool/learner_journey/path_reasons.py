"""Use cases of the learner API: the reason for each skill on the path, in plain words.

One home for the sentences the path page and ``GET /api/v1/me/path`` show: each one
is built from the learner's stored data (the skill's status, where its evidence came
from, the last attempts on it, when it was last practised, a manager's override),
never from the page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from adaptive.core.catalogue import CHECK_KINDS, PLACEMENT_KIND, Catalog
from adaptive.core.decisions import (
    DONE_STATUSES,
    STATUS_LOCKED,
    STATUS_REFRESH_DUE,
    STATUS_SKIPPED,
)
from adaptive.core.placement import PlacementConfig
from adaptive.models import PathOverride
from adaptive.path_evidence import SOURCE_PLACEMENT, SkillEvidence
from lti_tool.learner_journey.levels import short_level

# Path entry kinds: what the step is, for the page's styling and for clients.
ENTRY_SKIPPED = "skipped"  # known already (placement) or set aside by a manager
ENTRY_DONE = "done"
ENTRY_REFRESHER = "refresher"
ENTRY_ALTERNATIVE = "alternative"  # explained another way after wrong answers
ENTRY_LOCKED = "locked"
ENTRY_TO_DO = "to_do"

# The placement check's own bar: a skill it places at the target with this confidence
# gets no teaching, only the short check the mastery loop always runs first.
PLACED_CONFIDENCE = PlacementConfig().confidence

# Checks still run, and refreshers come after mastery anyway: no minutes saved there.
_NOT_TEACHING = CHECK_KINDS | {"refresher"}

_OVERRIDE_WORDS = {
    "pin": "asked you to do “{activity}” first",
    "skip_skill": "set {skill} aside for you",
    "skip_activity": "took “{activity}” off your path",
    "add_target": "added {skill} up to {level} to your path",
    "set_target": "set your target on {skill} to {level}",
    "reorder": "chose the order of your skills",
}


def _days_ago(then: dt.datetime, now: dt.datetime) -> int:
    if then.tzinfo is None:
        then = then.replace(tzinfo=dt.UTC)
    return max((now - then).days, 0)


def _days(n: int) -> str:
    return "today" if n == 0 else ("1 day ago" if n == 1 else f"{n} days ago")


def placed_at_target(row: Mapping[str, Any], evidence: SkillEvidence) -> bool:
    """The placement check showed this skill at the role's target (or it is done)."""
    return evidence.placed and (
        row["status"] in DONE_STATUSES or row["p_target"] >= PLACED_CONFIDENCE
    )


def _taught(skill_id: int, attempted: Collection[int], catalog: Catalog) -> bool:
    """Did the learner take teaching on this skill, not only checks?"""
    return any(
        (info := catalog.activities.get(a)) is not None
        and info.kind not in CHECK_KINDS
        and any(link.skill_id == skill_id for link in info.skills)
        for a in attempted
    )


def path_entry(
    row: Mapping[str, Any],
    evidence: SkillEvidence,
    *,
    catalog: Catalog,
    attempted: Collection[int],
    now: dt.datetime,
    manager_skips: Mapping[int, str],
) -> dict[str, Any]:
    """One skill's line on the path: what it is, why, and where the evidence came from."""
    name = row["name"]
    status = row["status"]
    skill_id = row["skill_id"]
    source = evidence.main_source
    taught = _taught(skill_id, attempted, catalog)
    if status == STATUS_SKIPPED:
        kind, source = ENTRY_SKIPPED, "manager"
        note = manager_skips.get(skill_id, "")
        reason = f"skipped: your manager set {name} aside" + (
            f" (“{note}”)" if note else ""
        )
    elif status == STATUS_REFRESH_DUE:
        kind = ENTRY_REFRESHER
        reason = (
            f"refresher: {name} was last practised "
            f"{_days(_days_ago(evidence.last_at, now))}"
            if evidence.last_at is not None
            else f"refresher: {name} is due for review"
        )
    elif status in DONE_STATUSES and not taught and evidence.attempt_outcomes:
        # The checks decided it (the placement may have pointed the way).
        kind = ENTRY_SKIPPED
        reason = f"skipped: you showed {name} in a short check"
    elif status in DONE_STATUSES and not taught and evidence.placed:
        kind, source = ENTRY_SKIPPED, SOURCE_PLACEMENT
        reason = f"skipped: you showed {name} in the placement check"
    elif status in DONE_STATUSES:
        kind = ENTRY_DONE
        reason = f"done: you reached {short_level(row['target_name'])} in {name}"
    elif not evidence.attempt_outcomes and placed_at_target(row, evidence):
        kind, source = ENTRY_SKIPPED, SOURCE_PLACEMENT
        reason = (
            f"skipped: you showed {name} in the placement check "
            "(a short check confirms it)"
        )
    elif evidence.wrong_in_a_row >= 2:
        kind = ENTRY_ALTERNATIVE
        reason = f"a different explanation: the last two answers on {name} were wrong"
    elif evidence.wrong_in_a_row == 1:
        kind = ENTRY_ALTERNATIVE
        reason = f"a different explanation: the last answer on {name} was wrong"
    elif status == STATUS_LOCKED:
        kind = ENTRY_LOCKED
        reason = f"later: {name} builds on skills still ahead of you"
    else:
        kind = ENTRY_TO_DO
        reason = f"to do: {name} up to {short_level(row['target_name'])}"
    return {
        "skill_id": skill_id,
        "name": name,
        "status": status,
        "kind": kind,
        "reason": reason,
        "evidence_source": source,
    }


def manager_reviews(
    rows: Sequence[PathOverride], catalog: Catalog
) -> list[dict[str, Any]]:
    """A manager's active overrides as the learner reads them, each with its note."""
    out = []
    for row in rows:
        activity = catalog.activities.get(row.activity_id) if row.activity_id else None
        words = _OVERRIDE_WORDS.get(row.kind, "changed your path").format(
            activity=activity.title if activity else "an activity",
            skill=catalog.skill_name(row.skill_id) if row.skill_id else "a skill",
            level=catalog.level_name(row.level) if row.level else "",
        )
        out.append(
            {
                "kind": row.kind,
                "what": f"Your manager {words}.",
                "note": row.note,
                "at": row.created_at.date().isoformat(),
            }
        )
    return out


def _day_in_words(iso_day: str) -> str:
    day = dt.date.fromisoformat(iso_day)
    return f"{day.day} {day:%B}"


def refresher_plan(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The skills at target with a refresher scheduled, soonest first."""
    planned = [
        {
            "skill_id": r["skill_id"],
            "name": r["name"],
            "due": r["next_refresh_at"][:10],
            "when": _day_in_words(r["next_refresh_at"][:10]),
        }
        for r in rows
        if r["next_refresh_at"] and r["status"] in DONE_STATUSES
    ]
    return sorted(planned, key=lambda p: (p["due"], p["name"]))


def minutes_saved(catalog: Catalog, placed: Mapping[int, int]) -> float:
    """Minutes of the catalogue's teaching a learner no longer needs.

    Args:
        placed: skill id -> target level, for the skills known at target. A teaching
            activity (not a check) counts when every skill it teaches is among them,
            at or below the target.
    """
    total = 0.0
    for activity in catalog.activities.values():
        if activity.kind in _NOT_TEACHING or not activity.skills:
            continue
        if all(
            link.skill_id in placed and link.level <= placed[link.skill_id]
            for link in activity.skills
        ):
            total += activity.duration_min
    return round(total, 1)


def minutes_left(
    catalog: Catalog, rows: Sequence[Mapping[str, Any]]
) -> tuple[float, float]:
    """From the shortest activity per open skill to every activity on them."""
    open_skills = {
        r["skill_id"]
        for r in rows
        if r["status"] not in DONE_STATUSES and r["status"] != STATUS_SKIPPED
    }
    low = 0.0
    high = 0.0
    for skill_id in open_skills:
        minutes = [
            a.duration_min
            for a in catalog.activities.values()
            if a.kind != PLACEMENT_KIND
            and any(link.skill_id == skill_id for link in a.skills)
        ]
        low += min(minutes, default=0.0)
        high += sum(minutes)
    return round(low, 1), round(high, 1)
