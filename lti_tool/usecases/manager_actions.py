"""Use cases: a manager's changes to a learner's path and mentor pairings (audited).

Each checks the form against the link's module (the skill, activity or level must be
the module's), that the learner is one the manager may review, then calls the one
adaptive service that changes and audits it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy.orm import Session

from adaptive.mentor_models import MentorPairing
from adaptive.mentors import PairingRefused, pair_mentor, revoke_pairing
from adaptive.models import PathOverride
from adaptive.overrides import revoke_override, set_override
from lti_tool.lti.errors import LaunchRejected
from lti_tool.usecases.manager_review import ManagerScope, learner_targets

# The override kinds the learner page offers (the others stay service-only).
PAGE_KINDS = ("pin", "skip_skill", "set_target", "reviewed")
MAX_NOTE = 1000


class ActionRefused(ValueError):
    """A form the manager must correct; the message names what is wrong."""


def override_path(
    session: Session,
    scope: ManagerScope,
    person_id: int,
    form: Mapping[str, str],
    *,
    now: dt.datetime,
) -> str:
    """Pin, skip, change a target or mark reviewed, from the learner page's form.

    Returns:
        The override's kind, for the page's confirmation.

    Raises:
        ActionRefused: the form names no valid choice for this module.
    """
    scope.member(person_id)
    snapshot = scope.require_module()
    catalog = snapshot.catalog
    kind = form.get("kind", "")
    if kind not in PAGE_KINDS:
        raise ActionRefused("Choose what to change: pin, skip, target or reviewed.")
    note = _note(form)
    skill_id = activity_id = level = None
    if kind == "pin":
        activity_id = _number(form, "activity_id", "an activity to pin")
        if activity_id not in catalog.activities:
            raise ActionRefused("That activity is not in this module.")
    if kind in {"skip_skill", "set_target"}:
        skill_id = _number(form, "skill_id", "a skill")
        if skill_id not in catalog.skills:
            raise ActionRefused("That skill is not in this module.")
    if kind == "set_target":
        level = _number(form, "level", "a target level")
        if not 0 <= level < catalog.n_levels:
            raise ActionRefused("That level is not on this module's scale.")
    if kind == "reviewed" and not note:
        raise ActionRefused("Say what you reviewed in the note.")
    set_override(
        session,
        tenant_id=scope.tenant_id,
        person_id=person_id,
        kind=kind,
        actor=scope.actor,
        module_id=snapshot.module_id,
        skill_id=skill_id,
        activity_id=activity_id,
        level=level,
        note=note,
        now=now,
    )
    return kind


def withdraw_override(
    session: Session,
    scope: ManagerScope,
    person_id: int,
    override_id: int,
    *,
    now: dt.datetime,
) -> None:
    """Revoke one of this learner's overrides (404 for anyone else's)."""
    scope.member(person_id)
    row = session.get(PathOverride, override_id)
    if row is None or row.tenant_id != scope.tenant_id or row.person_id != person_id:
        raise LaunchRejected("no_override", "This override is not known.", 404)
    if row.revoked_at is None:
        revoke_override(
            session,
            tenant_id=scope.tenant_id,
            override_id=override_id,
            actor=scope.actor,
            now=now,
        )


def pair_with_mentor(
    session: Session,
    scope: ManagerScope,
    person_id: int,
    form: Mapping[str, str],
    *,
    now: dt.datetime,
) -> None:
    """Pair the learner with a colleague at their target on one of their skills."""
    scope.member(person_id)
    snapshot = scope.require_module()
    skill_id = _number(form, "skill_id", "a skill")
    mentor_id = _number(form, "mentor_id", "a mentor")
    targets = learner_targets(session, scope, person_id)
    if skill_id not in targets:
        raise ActionRefused("That skill is not one of this learner's targets.")
    try:
        pair_mentor(
            session,
            tenant_id=scope.tenant_id,
            learner_id=person_id,
            mentor_id=mentor_id,
            skill_id=skill_id,
            level=targets[skill_id],
            n_levels=snapshot.catalog.n_levels,
            actor=scope.actor,
            note=_note(form),
            now=now,
        )
    except PairingRefused as exc:
        raise ActionRefused(str(exc)) from exc


def end_pairing(
    session: Session,
    scope: ManagerScope,
    person_id: int,
    pairing_id: int,
    *,
    now: dt.datetime,
) -> None:
    """Withdraw one of this learner's mentor pairings (404 for anyone else's)."""
    scope.member(person_id)
    row = session.get(MentorPairing, pairing_id)
    if row is None or row.tenant_id != scope.tenant_id or row.learner_id != person_id:
        raise LaunchRejected("no_pairing", "This pairing is not known.", 404)
    revoke_pairing(
        session,
        tenant_id=scope.tenant_id,
        pairing_id=pairing_id,
        actor=scope.actor,
        now=now,
    )


def _number(form: Mapping[str, str], name: str, what: str) -> int:
    value = form.get(name, "").strip()
    if not value.isdigit():
        raise ActionRefused(f"Choose {what}.")
    return int(value)


def _note(form: Mapping[str, str]) -> str:
    note = form.get("note", "").strip()
    if len(note) > MAX_NOTE:
        raise ActionRefused(f"Keep the note under {MAX_NOTE} characters.")
    return note
