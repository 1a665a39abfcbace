"""Use cases: what a manager's pages read: the cohort's capability and one learner's path.

Everything here only reads. Who a manager may see is decided once, in
``manager_scope``: a manager launch, inside its tenant, and the learners of the
launch's course and the manager's team.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive.cohort_people import CohortMember, cohort_people
from adaptive.core.decisions import DONE_STATUSES, STATUS_SKIPPED
from adaptive.core.skill_progress import effective_targets
from adaptive.mentors import MentorCandidate, Pairing, active_pairings
from adaptive.mentors import mentor_candidates as find_mentors
from adaptive.models import PathOverride
from adaptive.module_snapshots import ModuleSnapshot, load_module
from adaptive.overrides import active_overrides, listed_overrides
from adaptive.progress_reports import (
    cohort_capability,
    cohort_progress,
    learner_progress,
)
from adaptive.roles import learner_role
from lti_tool.infra.models import Course, Launch, Person, ResourceLink
from lti_tool.lti.errors import LaunchRejected
from lti_tool.lti.launch_token import LaunchContext
from lti_tool.usecases.next_steps import decide_for

# The people a manager reviews: the course's learners and the manager's own team.
REVIEWABLE_ROLES = ("learner", "team")
OVERRIDE_LABELS = {
    "pin": "Pinned next",
    "skip_skill": "Skill skipped",
    "skip_activity": "Activity skipped",
    "add_target": "Target added",
    "set_target": "Target changed",
    "reorder": "Skill order",
    "reviewed": "Reviewed",
}


@dataclass(frozen=True)
class ManagerScope:
    """A manager's launch: tenant, who acts, the link's module, whom they may review."""

    tenant_id: int
    manager_id: int
    actor: str
    course_title: str
    snapshot: ModuleSnapshot | None
    members: dict[int, CohortMember]

    @property
    def module_id(self) -> int | None:
        return self.snapshot.module_id if self.snapshot is not None else None

    def member(self, person_id: int) -> CohortMember:
        """A learner of this course or team; 404 for anyone else (never say who)."""
        found = self.members.get(person_id)
        if found is None:
            raise LaunchRejected(
                "not_in_cohort", "This learner is not in this course or your team.", 404
            )
        return found

    def require_module(self) -> ModuleSnapshot:
        if self.snapshot is None:
            raise LaunchRejected(
                "no_module", "No module is chosen for this link yet.", 409
            )
        return self.snapshot


def manager_scope(session: Session, ctx: LaunchContext) -> ManagerScope:
    """The launch as a manager's: 403 for a learner's launch."""
    if ctx.role == "learner":
        raise LaunchRejected(
            "forbidden", "Only instructors and managers can open this page.", 403
        )
    launch = session.get(Launch, ctx.launch_id)
    if launch is None or launch.tenant_id != ctx.tenant_id:
        raise LaunchRejected(
            "launch_gone", "This launch is no longer known: open it again.", 401
        )
    course = session.get(Course, launch.course_id) if launch.course_id else None
    link = (
        session.get(ResourceLink, launch.resource_link_pk)
        if launch.resource_link_pk
        else None
    )
    snapshot = (
        load_module(session, tenant_id=ctx.tenant_id, module_id=link.module_id)
        if link is not None and link.module_id is not None
        else None
    )
    members = {
        m.person_id: m
        for m in cohort_people(
            session,
            tenant_id=ctx.tenant_id,
            course_id=course.id if course is not None else None,
            manager_id=ctx.person_id,
        )
        if m.role in REVIEWABLE_ROLES and m.person_id != ctx.person_id
    }
    return ManagerScope(
        tenant_id=ctx.tenant_id,
        manager_id=ctx.person_id,
        actor=f"lti:{ctx.tenant_id}:{ctx.person_id}",
        course_title=(course.title or course.label) if course is not None else "",
        snapshot=snapshot,
        members=members,
    )


@dataclass(frozen=True)
class LearnerSkills:
    """One learner's skills against their targets, for the capability page."""

    member: CohortMember
    skills: dict[int, dict[str, Any]]


@dataclass(frozen=True)
class CapabilityPage:
    """The cohort's capability per target skill, each learner's skills, the pairings."""

    capability: list[dict[str, Any]]
    learners: list[LearnerSkills]
    pairings: list[Pairing]


def capability_page(
    session: Session, scope: ManagerScope, *, now: dt.datetime
) -> CapabilityPage:
    """Per target skill the share of the cohort at target, and per learner their skills."""
    people = sorted(scope.members)
    pairings = active_pairings(session, tenant_id=scope.tenant_id, learner_ids=people)
    if scope.snapshot is None:
        return CapabilityPage([], [], pairings)
    module_id = scope.snapshot.module_id
    capability = cohort_capability(
        session,
        tenant_id=scope.tenant_id,
        module_id=module_id,
        person_ids=people,
        now=now,
    )
    progress = cohort_progress(
        session,
        tenant_id=scope.tenant_id,
        module_id=module_id,
        person_ids=people,
        now=now,
    )
    learners = [
        LearnerSkills(
            member=scope.members[person_id],
            skills={row["skill_id"]: row for row in progress[person_id]},
        )
        for person_id in sorted(
            people, key=lambda p: (scope.members[p].name.lower(), p)
        )
    ]
    return CapabilityPage(capability, learners, pairings)


@dataclass(frozen=True)
class NextStepForManager:
    """The engine's next step for the learner, with the sentence written for managers."""

    kind: str
    title: str
    reason_code: str
    manager_text: str


@dataclass(frozen=True)
class ListedOverride:
    """An active override as the learner page lists it."""

    id: int
    kind: str
    label: str
    subject: str
    note: str
    created_by: str
    created_at: dt.datetime


@dataclass(frozen=True)
class LearnerReview:
    """Everything the per-learner page shows, and the choices its forms offer."""

    member: CohortMember
    skills: list[dict[str, Any]]
    next_step: NextStepForManager | None
    overrides: list[ListedOverride]
    mentors: dict[int, list[MentorCandidate]]
    pairings: list[Pairing]
    authors: dict[str, str] = field(default_factory=dict)
    activities: list[tuple[int, str]] = field(default_factory=list)
    levels: list[tuple[int, str]] = field(default_factory=list)


def learner_review(
    session: Session, scope: ManagerScope, person_id: int, *, now: dt.datetime
) -> LearnerReview:
    """One learner's skills, next step and its reason, overrides and mentors."""
    member = scope.member(person_id)
    pairings = active_pairings(
        session, tenant_id=scope.tenant_id, learner_ids=[person_id]
    )
    overrides = listed_overrides(
        session,
        tenant_id=scope.tenant_id,
        person_id=person_id,
        module_id=scope.module_id,
    )
    authors = author_names(
        session,
        tenant_id=scope.tenant_id,
        actors=[o.created_by for o in overrides] + [p.created_by for p in pairings],
    )
    snapshot = scope.snapshot
    if snapshot is None:
        listed = [_listed(o, None, authors) for o in overrides]
        return LearnerReview(member, [], None, listed, {}, pairings, authors)
    catalog = snapshot.catalog
    skills = learner_progress(
        session,
        tenant_id=scope.tenant_id,
        person_id=person_id,
        module_id=snapshot.module_id,
        now=now,
    )
    decision = decide_for(
        session,
        tenant_id=scope.tenant_id,
        person_id=person_id,
        module_id=snapshot.module_id,
        now=now,
    )
    mentors = find_mentors(
        session,
        tenant_id=scope.tenant_id,
        learner_id=person_id,
        levels={
            row["skill_id"]: row["target"]
            for row in skills
            if row["status"] not in DONE_STATUSES and row["status"] != STATUS_SKIPPED
        },
        n_levels=catalog.n_levels,
        now=now,
    )
    return LearnerReview(
        member=member,
        authors=authors,
        skills=skills,
        next_step=NextStepForManager(
            kind=decision.recommendation.kind,
            title=decision.activity.title if decision.activity else "",
            reason_code=decision.recommendation.reason.code,
            manager_text=decision.recommendation.reason.manager_text,
        ),
        overrides=[_listed(o, snapshot, authors) for o in overrides],
        mentors=mentors,
        pairings=pairings,
        activities=sorted(
            ((a.id, a.title) for a in catalog.activities.values()),
            key=lambda pair: pair[1].lower(),
        ),
        levels=list(enumerate(catalog.scale)),
    )


def learner_targets(
    session: Session, scope: ManagerScope, person_id: int
) -> dict[int, int]:
    """The learner's target levels in the link's module, after overrides: reads only."""
    snapshot = scope.require_module()
    role = learner_role(
        session, tenant_id=scope.tenant_id, person_id=person_id, snapshot=snapshot
    )
    overrides = active_overrides(
        session,
        tenant_id=scope.tenant_id,
        person_id=person_id,
        module_id=snapshot.module_id,
    )
    targets = effective_targets(dict(role.targets) if role else {}, overrides)
    return {skill_id: target.level for skill_id, target in targets.items()}


def author_names(
    session: Session, *, tenant_id: int, actors: Iterable[str]
) -> dict[str, str]:
    """Names for ``lti:<tenant>:<person>`` actors of this tenant; others stay as is."""
    ids = {}
    for actor in actors:
        kind, _, rest = actor.partition(":")
        tenant, _, person = rest.partition(":")
        if kind == "lti" and tenant == str(tenant_id) and person.isdigit():
            ids[actor] = int(person)
    if not ids:
        return {}
    names = {
        p.id: p.display_name
        for p in session.scalars(
            select(Person).where(
                Person.id.in_(sorted(set(ids.values()))),
                Person.tenant_id == tenant_id,
            )
        )
    }
    return {actor: names[pid] for actor, pid in ids.items() if pid in names}


def _listed(
    row: PathOverride, snapshot: ModuleSnapshot | None, authors: dict[str, str]
) -> ListedOverride:
    catalog = snapshot.catalog if snapshot is not None else None
    parts = []
    if row.activity_id is not None:
        activity = catalog.activities.get(row.activity_id) if catalog else None
        parts.append(activity.title if activity else f"activity {row.activity_id}")
    if row.skill_id is not None:
        parts.append(
            catalog.skill_name(row.skill_id) if catalog else f"skill {row.skill_id}"
        )
    if row.level is not None and row.kind in {"set_target", "add_target"}:
        level = catalog.level_name(row.level) if catalog else f"level {row.level}"
        parts.append(
            "target removed" if row.level == 0 and row.kind == "set_target" else level
        )
    return ListedOverride(
        id=row.id,
        kind=row.kind,
        label=OVERRIDE_LABELS.get(row.kind, row.kind),
        subject=" · ".join(parts),
        note=row.note,
        created_by=authors.get(row.created_by, row.created_by),
        created_at=row.created_at,
    )
