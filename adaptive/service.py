"""Services of the adaptive engine: load snapshots and state, decide, record, override.

Every function takes the SQLAlchemy session first and keyword arguments after; it may
flush but never commits (the caller owns the transaction). Tenancy: a tenant sees its
own frameworks and the shared ones (``tenant_id IS NULL``), and only its own learners.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import BindParameter, Integer, and_, bindparam, or_, select
from sqlalchemy.orm import Session

from adaptive.core.catalogue import (
    ActivityInfo,
    Catalog,
    RoleInfo,
    SkillInfo,
    SkillLink,
)
from adaptive.core.learner import (
    LearnerModel,
    Observation,
    ParamSet,
    SkillState,
    UpdateResult,
)
from adaptive.core.params import BKTParams
from adaptive.core.placement import (
    PlacementConfig,
    Probe,
    next_placement_step,
    placement_observation,
)
from adaptive.core.policy import (
    AttemptRecord,
    Overrides,
    PolicyConfig,
    PolicyInput,
    Recommendation,
    effective_targets,
    mastery_reached,
    progress_report,
)
from adaptive.core.policy import next_step as decide_next_step
from adaptive.core.refresh import RefreshScheduler, RefreshState
from adaptive.models import (
    OVERRIDE_KINDS,
    Activity,
    ActivitySkill,
    Attempt,
    Evidence,
    Framework,
    LearnerProfile,
    LearnerRole,
    LearnerSkillState,
    Module,
    ModuleActivity,
    PathOverride,
    PlacementSession,
    RoleProfile,
    RoleTarget,
    Skill,
    SkillParams,
    SkillPrerequisite,
)
from lti_tool.infra import revision
from lti_tool.infra.models import AuditEntry

HISTORY_WINDOW = 20
PLACEMENT_KIND = "placement_item"
DRIFT_SOURCES = frozenset({"xapi"})


class NotVisibleError(LookupError):
    """The object does not exist for this tenant (never reveal other tenants' data)."""


@dataclass(frozen=True)
class ModuleSnapshot:
    """A module's catalogue as the pure engine sees it."""

    module_id: int
    title: str
    catalog: Catalog
    role: RoleInfo | None
    module_key: str
    framework_key: str
    probes: tuple[Probe, ...]
    placement_budget: int
    questions: Mapping[str, Mapping[str, Any]]


@dataclass
class LearnerState:
    """A learner's loaded model, refresher cards and the rows they came from."""

    profile: LearnerProfile
    model: LearnerModel
    refresh: dict[int, RefreshState]
    rows: dict[int, LearnerSkillState]


# --- catalogue ---


def _visible_frameworks(tenant_id: int) -> Any:
    return or_(Framework.tenant_id == tenant_id, Framework.tenant_id.is_(None))


# Immutable snapshots per (catalogue revision, tenant, module): building one costs
# tens of milliseconds, and every learner page needs one.
_SNAPSHOTS = revision.RevisionCache(revision.CATALOGUE, size=64)
_PARAMS = revision.RevisionCache(revision.CONFIG, size=256)
_PATH_PEOPLE = revision.RevisionCache(revision.PATHS, size=1024)


@dataclass(frozen=True)
class PeopleWithPaths:
    """Who in a tenant has a role assignment or an active override at all."""

    roles: frozenset[int]
    overrides: frozenset[int]


def _people_with_paths(session: Session, tenant_id: int) -> PeopleWithPaths:
    """Most learners have neither: their pages then skip both lookups.

    Exact: assignments and overrides move the ``paths`` revision when they change.
    """

    def read() -> PeopleWithPaths:
        roles = session.scalars(
            select(LearnerRole.person_id)
            .where(LearnerRole.tenant_id == tenant_id)
            .distinct()
        )
        overrides = session.scalars(
            select(PathOverride.person_id)
            .where(
                PathOverride.tenant_id == tenant_id,
                PathOverride.revoked_at.is_(None),
            )
            .distinct()
        )
        return PeopleWithPaths(frozenset(roles), frozenset(overrides))

    return _PATH_PEOPLE.get(session, tenant_id, read)


def load_module(session: Session, *, tenant_id: int, module_id: int) -> ModuleSnapshot:
    """Snapshot one module (cached until the catalogue changes anywhere).

    Raises:
        NotVisibleError: the module is another tenant's (or does not exist).
    """
    return _SNAPSHOTS.get(
        session,
        (tenant_id, module_id),
        lambda: build_module_snapshot(
            session, tenant_id=tenant_id, module_id=module_id
        ),
    )


def build_module_snapshot(
    session: Session, *, tenant_id: int, module_id: int
) -> ModuleSnapshot:
    """Snapshot one module: its framework's skills, graph and activities, and its role.

    Placement items feed the placement check only; they are never a path step.
    """
    module = session.execute(
        select(Module)
        .join(Framework, Framework.id == Module.framework_id)
        .where(Module.id == module_id, _visible_frameworks(tenant_id))
    ).scalar_one_or_none()
    if module is None:
        raise NotVisibleError(f"module {module_id}")
    framework = session.get(Framework, module.framework_id)
    scale = tuple(framework.scale) if framework and framework.scale else None
    skills = session.scalars(
        select(Skill).where(Skill.framework_id == module.framework_id)
    ).all()
    skill_ids = {s.id for s in skills}
    edges = [
        (e.skill_id, e.prerequisite_id)
        for e in session.scalars(
            select(SkillPrerequisite).where(SkillPrerequisite.skill_id.in_(skill_ids))
        )
        if e.prerequisite_id in skill_ids
    ]
    activities = session.scalars(
        select(Activity).where(Activity.framework_id == module.framework_id)
    ).all()
    links: dict[int, list[ActivitySkill]] = {}
    for link in session.scalars(
        select(ActivitySkill).where(
            ActivitySkill.activity_id.in_([a.id for a in activities])
        )
    ):
        links.setdefault(link.activity_id, []).append(link)
    infos: list[ActivityInfo] = []
    probes: list[Probe] = []
    questions: dict[str, Mapping[str, Any]] = {}
    for activity in activities:
        qs = [
            q
            for q in (activity.content or {}).get("questions", [])
            if isinstance(q, dict)
        ]
        act_links = tuple(
            SkillLink(lk.skill_id, lk.weight, lk.level)
            for lk in sorted(links.get(activity.id, []), key=lambda lk: -lk.weight)
        )
        if activity.kind != PLACEMENT_KIND:
            infos.append(
                ActivityInfo(
                    id=activity.id,
                    key=activity.key,
                    title=activity.title,
                    kind=activity.kind,
                    duration_min=activity.duration_min,
                    difficulty=activity.difficulty,
                    target_level=activity.target_level,
                    explanation_group=activity.explanation_group,
                    skills=act_links,
                    n_items=len(qs),
                )
            )
        if act_links:
            main = act_links[0]
            for index, question in enumerate(qs):
                ref = f"{activity.id}:{index}"
                probes.append(
                    Probe(main.skill_id, max(main.level, 1), ref, activity.difficulty)
                )
                questions[ref] = question
    order = session.scalars(
        select(ModuleActivity.activity_id)
        .where(ModuleActivity.module_id == module.id)
        .order_by(ModuleActivity.position)
    ).all()
    kwargs: dict[str, Any] = {"module_order": order}
    if scale:
        kwargs["scale"] = scale
    catalog = Catalog.build(
        [SkillInfo(s.id, s.key, s.name, s.framework_id) for s in skills],
        infos,
        edges,
        **kwargs,
    )
    role = (
        _role_info(session, module.default_role_id) if module.default_role_id else None
    )
    return ModuleSnapshot(
        module_id=module.id,
        title=module.title,
        catalog=catalog,
        role=role,
        module_key=module.key,
        framework_key=framework.key if framework else str(module.framework_id),
        probes=tuple(probes),
        placement_budget=module.placement_budget,
        questions=questions,
    )


def _role_info(session: Session, role_id: int) -> RoleInfo | None:
    role = session.get(RoleProfile, role_id)
    if role is None:
        return None
    targets = {
        t.skill_id: t.target_level
        for t in session.scalars(
            select(RoleTarget).where(RoleTarget.role_id == role_id)
        )
    }
    return RoleInfo(role.id, role.name, targets, role.horizon_days)


def learner_role(
    session: Session, *, tenant_id: int, person_id: int, snapshot: ModuleSnapshot
) -> RoleInfo | None:
    """The learner's role for this module: an assignment, else the module's default."""
    if person_id not in _people_with_paths(session, tenant_id).roles:
        return snapshot.role
    assigned_role_id = session.scalars(
        _ROLE_ASSIGNMENTS_OF,
        {
            "tenant_id": tenant_id,
            "person_id": person_id,
            "module_id": snapshot.module_id,
        },
    ).first()
    if assigned_role_id is not None:
        visible = session.execute(
            select(RoleProfile.id)
            .join(Framework, Framework.id == RoleProfile.framework_id)
            .where(RoleProfile.id == assigned_role_id, _visible_frameworks(tenant_id))
        ).scalar_one_or_none()
        if visible is not None:
            return _role_info(session, assigned_role_id)
    return snapshot.role


def assign_role(
    session: Session,
    *,
    tenant_id: int,
    person_id: int,
    role_id: int,
    module_id: int | None = None,
    actor: str = "",
) -> LearnerRole:
    """Point a learner at a role (per module, or everywhere when ``module_id`` is None)."""
    visible = session.execute(
        select(RoleProfile.id)
        .join(Framework, Framework.id == RoleProfile.framework_id)
        .where(RoleProfile.id == role_id, _visible_frameworks(tenant_id))
    ).scalar_one_or_none()
    if visible is None:
        raise NotVisibleError(f"role {role_id}")
    row = session.scalars(
        select(LearnerRole).where(
            LearnerRole.tenant_id == tenant_id,
            LearnerRole.person_id == person_id,
            LearnerRole.module_id.is_(None)
            if module_id is None
            else LearnerRole.module_id == module_id,
        )
    ).first()
    if row is None:
        row = LearnerRole(
            tenant_id=tenant_id, person_id=person_id, module_id=module_id, role_id=0
        )
        session.add(row)
    row.role_id = role_id
    row.assigned_by = actor
    session.flush()
    return row


def load_params(session: Session, *, tenant_id: int) -> ParamSet:
    """Fitted parameters: the tenant's own fit wins over the install-wide one."""
    return _PARAMS.get(
        session, ("params", tenant_id), lambda: _read_params(session, tenant_id)
    )


def _read_params(session: Session, tenant_id: int) -> ParamSet:
    per_skill: dict[int, BKTParams] = {}
    rows = session.scalars(
        select(SkillParams)
        .where(or_(SkillParams.tenant_id == tenant_id, SkillParams.tenant_id.is_(None)))
        .order_by(SkillParams.tenant_id.is_not(None))
    )
    for row in rows:
        per_skill[row.skill_id] = BKTParams(
            prior=row.prior,
            learn=row.learn,
            guess=row.guess,
            slip=row.slip,
            forget_per_day=row.forget_per_day,
        )
    return ParamSet(per_skill=per_skill)


# --- learner state ---

# What every learner page reads, built once: reusing a statement object skips
# rebuilding it and recomputing its compiled-cache key on each request.
_TENANT: BindParameter[int] = bindparam("tenant_id", type_=Integer)
_PERSON: BindParameter[int] = bindparam("person_id", type_=Integer)
_PROFILE_WITH_SKILLS_OF = (
    select(LearnerProfile, LearnerSkillState)
    .outerjoin(
        LearnerSkillState,
        and_(
            LearnerSkillState.tenant_id == LearnerProfile.tenant_id,
            LearnerSkillState.person_id == LearnerProfile.person_id,
        ),
    )
    .where(LearnerProfile.tenant_id == _TENANT, LearnerProfile.person_id == _PERSON)
)
_SKILL_STATES_OF = select(LearnerSkillState).where(
    LearnerSkillState.tenant_id == _TENANT, LearnerSkillState.person_id == _PERSON
)
_EVIDENCE_AFTER = (
    select(Evidence)
    .where(
        Evidence.tenant_id == _TENANT,
        Evidence.person_id == _PERSON,
        Evidence.id > bindparam("after_id"),
    )
    .order_by(Evidence.id)
)
_ROLE_ASSIGNMENTS_OF = (
    select(LearnerRole.role_id)
    .where(
        LearnerRole.tenant_id == _TENANT,
        LearnerRole.person_id == _PERSON,
        or_(
            LearnerRole.module_id == bindparam("module_id"),
            LearnerRole.module_id.is_(None),
        ),
    )
    .order_by(LearnerRole.module_id.is_(None))
)
# Read-only projections (no entities to build): the decision never writes these.
_RECENT_ATTEMPTS_OF = (
    select(
        Attempt.activity_id,
        Attempt.started_at,
        Attempt.finished_at,
        Attempt.score,
        Attempt.refresher,
    )
    .where(Attempt.tenant_id == _TENANT, Attempt.person_id == _PERSON)
    .order_by(Attempt.started_at.desc(), Attempt.id.desc())
    .limit(HISTORY_WINDOW)
)
_ACTIVE_OVERRIDES_OF = (
    select(
        PathOverride.kind,
        PathOverride.skill_id,
        PathOverride.activity_id,
        PathOverride.level,
        PathOverride.order,
    )
    .where(
        PathOverride.tenant_id == _TENANT,
        PathOverride.person_id == _PERSON,
        PathOverride.revoked_at.is_(None),
        or_(
            PathOverride.module_id == bindparam("module_id"),
            PathOverride.module_id.is_(None),
        ),
    )
    .order_by(PathOverride.created_at, PathOverride.id)
)


def load_learner(
    session: Session,
    *,
    tenant_id: int,
    person_id: int,
    n_levels: int = 6,
    params: ParamSet | None = None,
) -> LearnerState:
    """Build the learner model from stored rows (creating the profile on first use)."""
    who = {"tenant_id": tenant_id, "person_id": person_id}
    # The profile and its skill rows in one round trip (no skill rows: one NULL row).
    joined = session.execute(_PROFILE_WITH_SKILLS_OF, who).all()
    if joined:
        profile: LearnerProfile = joined[0][0]
        skill_rows = [row[1] for row in joined if row[1] is not None]
    else:
        profile = LearnerProfile(
            tenant_id=tenant_id,
            person_id=person_id,
            ability=0.0,
            n_ability=0,
            last_evidence_id=0,
        )
        session.add(profile)
        session.flush()
        skill_rows = list(session.scalars(_SKILL_STATES_OF, who))
    rows = {r.skill_id: r for r in skill_rows}
    states: dict[int, SkillState] = {}
    refresh: dict[int, RefreshState] = {}
    for skill_id, row in rows.items():
        probs = list(row.level_probs)
        if len(probs) != n_levels:
            continue  # the scale changed: the old posterior no longer means anything
        states[skill_id] = SkillState.from_dict(
            {
                "probs": probs,
                "updated_at": row.updated_at.isoformat(),
                "n_evidence": row.n_evidence,
                "weight_evidence": row.weight_evidence,
            }
        )
        if row.fsrs_card:
            refresh[skill_id] = RefreshState.from_dict(row.fsrs_card)
    model = LearnerModel(
        n_levels=n_levels,
        params=params
        if params is not None
        else load_params(session, tenant_id=tenant_id),
        ability=profile.ability,
        n_ability=profile.n_ability,
        states=states,
    )
    return LearnerState(profile=profile, model=model, refresh=refresh, rows=rows)


def _save_skill(
    session: Session,
    state: LearnerState,
    skill_id: int,
    *,
    evidence_at: dt.datetime | None,
) -> None:
    skill_state = state.model.states.get(skill_id)
    row = state.rows.get(skill_id)
    card = state.refresh.get(skill_id)
    if skill_state is None and card is None:
        return
    if row is None:
        row = LearnerSkillState(
            tenant_id=state.profile.tenant_id,
            person_id=state.profile.person_id,
            skill_id=skill_id,
        )
        session.add(row)
        state.rows[skill_id] = row
    if skill_state is not None:
        est = state.model.estimate(skill_id, 1, skill_state.updated_at)
        row.p_known = est.p_target
        row.level = est.level
        row.level_probs = [float(p) for p in skill_state.probs]
        row.updated_at = skill_state.updated_at
        row.n_evidence = skill_state.n_evidence
        row.weight_evidence = skill_state.weight_evidence
    if evidence_at is not None:
        row.last_evidence_at = evidence_at
    if card is not None:
        row.fsrs_card = card.to_dict()
        row.next_refresh_at = card.due
        if row.mastered_at is None:
            row.mastered_at = evidence_at or card.card.last_review


def _targets_by_skill(
    session: Session, *, tenant_id: int, person_id: int
) -> dict[int, int]:
    """The highest target any of the learner's roles sets per skill (for mastery cards)."""
    role_ids = set(
        session.scalars(
            select(LearnerRole.role_id).where(
                LearnerRole.tenant_id == tenant_id, LearnerRole.person_id == person_id
            )
        )
    )
    modules = session.scalars(
        select(Module.default_role_id)
        .join(Attempt, Attempt.module_id == Module.id)
        .where(Attempt.tenant_id == tenant_id, Attempt.person_id == person_id)
        .distinct()
    )
    role_ids |= {r for r in modules if r is not None}
    placements = session.scalars(
        select(Module.default_role_id)
        .join(PlacementSession, PlacementSession.module_id == Module.id)
        .where(
            PlacementSession.tenant_id == tenant_id,
            PlacementSession.person_id == person_id,
        )
    )
    role_ids |= {r for r in placements if r is not None}
    out: dict[int, int] = {}
    if role_ids:
        for t in session.scalars(
            select(RoleTarget).where(RoleTarget.role_id.in_(role_ids))
        ):
            out[t.skill_id] = max(out.get(t.skill_id, 0), t.target_level)
    return out


def apply_pending_evidence(
    session: Session,
    *,
    tenant_id: int,
    person_id: int,
    state: LearnerState | None = None,
    scheduler: RefreshScheduler | None = None,
    config: PolicyConfig | None = None,
    learn_scale: float = 1.0,
) -> list[UpdateResult]:
    """Fold every not-yet-applied Evidence row (ours and xAPI's) into the learner state.

    Rows are applied in id order, so a job and a request cannot apply one twice (the
    profile's ``last_evidence_id`` moves forward in the same transaction). Failing xAPI
    evidence on a skill with a refresher card is drift: it brings the refresher forward.
    """
    st = state or load_learner(session, tenant_id=tenant_id, person_id=person_id)
    sched = scheduler or RefreshScheduler()
    cfg = config or PolicyConfig()
    pending = session.scalars(
        _EVIDENCE_AFTER,
        {
            "tenant_id": tenant_id,
            "person_id": person_id,
            "after_id": st.profile.last_evidence_id,
        },
    ).all()
    if not pending:
        return []
    targets = _targets_by_skill(session, tenant_id=tenant_id, person_id=person_id)
    difficulty = {
        a.id: a.difficulty
        for a in session.scalars(
            select(Activity).where(
                Activity.id.in_({e.activity_id for e in pending if e.activity_id})
            )
        )
    }
    n_levels = st.model.n_levels
    results: list[UpdateResult] = []
    touched: dict[int, dt.datetime] = {}
    for ev in pending:
        st.profile.last_evidence_id = ev.id
        if ev.voided:
            continue
        level = min(max(ev.level or 1, 1), n_levels - 1)
        obs = Observation(
            skill_id=ev.skill_id,
            level=level,
            outcome=min(max(ev.outcome, 0.0), 1.0),
            at=ev.occurred_at,
            weight=max(ev.weight, 0.0),
            difficulty=difficulty.get(ev.activity_id or -1, 0.0),
            learn_scale=learn_scale if ev.rule_key != "placement" else 0.0,
        )
        results.append(st.model.observe(obs))
        touched[ev.skill_id] = ev.occurred_at
        card = st.refresh.get(ev.skill_id)
        if card is not None and ev.source in DRIFT_SOURCES:
            st.refresh[ev.skill_id] = sched.drift(
                card, outcome=obs.outcome, weight=obs.weight, at=ev.occurred_at
            )
        target = targets.get(ev.skill_id)
        if (
            card is None
            and target is not None
            and mastery_reached(st.model, ev.skill_id, target, ev.occurred_at, cfg)
        ):
            st.refresh[ev.skill_id] = sched.start(
                ev.skill_id, ev.occurred_at, prior_knowledge=ev.rule_key == "placement"
            )
    for skill_id, at in touched.items():
        _save_skill(session, st, skill_id, evidence_at=at)
    st.profile.ability = st.model.ability
    st.profile.n_ability = st.model.n_ability
    session.flush()
    return results


# --- overrides ---


def active_overrides(
    session: Session, *, tenant_id: int, person_id: int, module_id: int | None
) -> Overrides:
    """Fold the active override rows (oldest first) into the policy's Overrides."""
    if person_id not in _people_with_paths(session, tenant_id).overrides:
        return Overrides()
    rows = session.execute(
        _ACTIVE_OVERRIDES_OF,
        {"tenant_id": tenant_id, "person_id": person_id, "module_id": module_id},
    ).all()
    pinned: list[int] = []
    skipped_skills: set[int] = set()
    skipped_activities: set[int] = set()
    added: dict[int, int] = {}
    changes: dict[int, int] = {}
    order: tuple[int, ...] = ()
    for row in rows:
        if row.kind == "pin" and row.activity_id is not None:
            pinned.append(row.activity_id)
        elif row.kind == "skip_skill" and row.skill_id is not None:
            skipped_skills.add(row.skill_id)
        elif row.kind == "skip_activity" and row.activity_id is not None:
            skipped_activities.add(row.activity_id)
        elif row.kind == "add_target" and row.skill_id is not None and row.level:
            added[row.skill_id] = row.level
        elif (
            row.kind == "set_target"
            and row.skill_id is not None
            and row.level is not None
        ):
            changes[row.skill_id] = row.level
        elif row.kind == "reorder":
            order = tuple(int(s) for s in row.order)
    return Overrides(
        pinned=tuple(pinned),
        skipped_skills=frozenset(skipped_skills),
        skipped_activities=frozenset(skipped_activities),
        added_targets=added,
        target_changes=changes,
        skill_order=order,
    )


def set_override(
    session: Session,
    *,
    tenant_id: int,
    person_id: int,
    kind: str,
    actor: str,
    module_id: int | None = None,
    skill_id: int | None = None,
    activity_id: int | None = None,
    level: int | None = None,
    order: Sequence[int] = (),
    note: str = "",
    now: dt.datetime | None = None,
) -> PathOverride:
    """Record a manager's override of a learner's path and audit it.

    Kinds: pin (activity first), skip_skill, skip_activity, add_target (skill, level:
    beyond the role, on request), set_target (skill, level; 0 removes it), reorder
    (skill order). A new reorder replaces the previous one.
    """
    if kind not in OVERRIDE_KINDS:
        raise ValueError(f"unknown override kind {kind!r}; use one of {OVERRIDE_KINDS}")
    needs_activity = kind in {"pin", "skip_activity"}
    needs_skill = kind in {"skip_skill", "add_target", "set_target"}
    if needs_activity and activity_id is None:
        raise ValueError(f"{kind} needs activity_id")
    if needs_skill and skill_id is None:
        raise ValueError(f"{kind} needs skill_id")
    if kind in {"add_target", "set_target"} and level is None:
        raise ValueError(f"{kind} needs level")
    if kind == "reorder" and not order:
        raise ValueError("reorder needs a skill order")
    _check_visible(
        session,
        tenant_id=tenant_id,
        skill_ids=[*order, *([skill_id] if skill_id else [])],
        activity_id=activity_id,
    )
    at = now or dt.datetime.now(dt.UTC)
    if kind == "reorder":
        for old in session.scalars(
            select(PathOverride).where(
                PathOverride.tenant_id == tenant_id,
                PathOverride.person_id == person_id,
                PathOverride.kind == "reorder",
                PathOverride.revoked_at.is_(None),
            )
        ):
            old.revoked_at = at
    row = PathOverride(
        tenant_id=tenant_id,
        person_id=person_id,
        module_id=module_id,
        kind=kind,
        skill_id=skill_id,
        activity_id=activity_id,
        level=level,
        order=[int(s) for s in order],
        note=note,
        created_by=actor,
        created_at=at,
    )
    session.add(row)
    session.flush()
    session.add(
        AuditEntry(
            at=at,
            tenant_id=tenant_id,
            actor=actor,
            action=f"path_override.{kind}",
            target=f"person:{person_id}",
            details={
                "override_id": row.id,
                "module_id": module_id,
                "skill_id": skill_id,
                "activity_id": activity_id,
                "level": level,
                "order": list(order),
                "note": note,
            },
        )
    )
    session.flush()
    return row


def revoke_override(
    session: Session,
    *,
    tenant_id: int,
    override_id: int,
    actor: str,
    now: dt.datetime | None = None,
) -> PathOverride:
    """Withdraw an override (kept for the record) and audit it."""
    row = session.get(PathOverride, override_id)
    if row is None or row.tenant_id != tenant_id:
        raise NotVisibleError(f"override {override_id}")
    at = now or dt.datetime.now(dt.UTC)
    row.revoked_at = at
    session.add(
        AuditEntry(
            at=at,
            tenant_id=tenant_id,
            actor=actor,
            action="path_override.revoke",
            target=f"person:{row.person_id}",
            details={"override_id": row.id, "kind": row.kind},
        )
    )
    session.flush()
    return row


def _check_visible(
    session: Session,
    *,
    tenant_id: int,
    skill_ids: Iterable[int],
    activity_id: int | None,
) -> None:
    wanted = set(skill_ids)
    if wanted:
        found = set(
            session.scalars(
                select(Skill.id)
                .join(Framework, Framework.id == Skill.framework_id)
                .where(Skill.id.in_(wanted), _visible_frameworks(tenant_id))
            )
        )
        if found != wanted:
            raise NotVisibleError(f"skills {sorted(wanted - found)}")
    if activity_id is not None:
        found_activity = session.execute(
            select(Activity.id)
            .join(Framework, Framework.id == Activity.framework_id)
            .where(Activity.id == activity_id, _visible_frameworks(tenant_id))
        ).scalar_one_or_none()
        if found_activity is None:
            raise NotVisibleError(f"activity {activity_id}")


# --- placement ---


def _placement_view(
    placement: PlacementSession, snapshot: ModuleSnapshot, numbers: Mapping[str, Any]
) -> dict[str, Any]:
    question = None
    if placement.pending_ref is not None:
        q = snapshot.questions.get(placement.pending_ref, {})
        question = {
            "ref": placement.pending_ref,
            "prompt": q.get("prompt", ""),
            "options": list(q.get("options", [])),
        }
    return {
        "placement_id": placement.id,
        "done": placement.finished_at is not None,
        "asked": len(placement.asked),
        "budget": placement.budget,
        "question": question,
        "stop_code": placement.stop_code,
        "numbers": dict(numbers),
    }


def _advance_placement(
    session: Session,
    placement: PlacementSession,
    snapshot: ModuleSnapshot,
    state: LearnerState,
    targets: Mapping[int, int],
    now: dt.datetime,
) -> dict[str, Any]:
    step = next_placement_step(
        state.model,
        snapshot.probes,
        targets,
        now,
        asked=[a["ref"] for a in placement.asked],
        config=PlacementConfig(budget=placement.budget),
    )
    if step.choice is None:
        placement.pending_ref = None
        placement.stop_code = step.stop_code
        placement.finished_at = now
    else:
        placement.pending_ref = step.choice.probe.ref
    session.flush()
    return _placement_view(placement, snapshot, step.numbers)


def start_placement(
    session: Session,
    *,
    tenant_id: int,
    person_id: int,
    module_id: int,
    now: dt.datetime,
) -> dict[str, Any]:
    """Open (or resume) the placement check and return its first question or "done"."""
    snapshot = load_module(session, tenant_id=tenant_id, module_id=module_id)
    existing = session.scalars(
        select(PlacementSession)
        .where(
            PlacementSession.tenant_id == tenant_id,
            PlacementSession.person_id == person_id,
            PlacementSession.module_id == module_id,
        )
        .order_by(PlacementSession.id.desc())
    ).first()
    if existing is not None and (
        existing.finished_at is not None or existing.pending_ref
    ):
        return _placement_view(existing, snapshot, {})
    placement = existing or PlacementSession(
        tenant_id=tenant_id,
        person_id=person_id,
        module_id=module_id,
        budget=snapshot.placement_budget,
        asked=[],
        started_at=now,
    )
    session.add(placement)
    session.flush()
    # Evidence already in from the LRS counts before the first question is chosen.
    snapshot, state, role = _learner_in_module(
        session, tenant_id=tenant_id, person_id=person_id, module_id=module_id
    )
    targets = dict(role.targets) if role else {}
    return _advance_placement(session, placement, snapshot, state, targets, now)


def answer_placement(
    session: Session,
    *,
    tenant_id: int,
    placement_id: int,
    ref: str,
    answer: Any,
    now: dt.datetime,
) -> dict[str, Any]:
    """Score the pending placement question, update the model, and pick the next one."""
    placement = session.get(PlacementSession, placement_id)
    if placement is None or placement.tenant_id != tenant_id:
        raise NotVisibleError(f"placement {placement_id}")
    snapshot = load_module(session, tenant_id=tenant_id, module_id=placement.module_id)
    if placement.finished_at is not None or placement.pending_ref != ref:
        raise ValueError(f"question {ref!r} is not the one pending in this placement")
    question = snapshot.questions.get(ref, {})
    correct = answer == question.get("answer")
    probe = next(p for p in snapshot.probes if p.ref == ref)
    obs = placement_observation(probe, correct, now)
    session.add(
        Evidence(
            tenant_id=tenant_id,
            person_id=placement.person_id,
            skill_id=probe.skill_id,
            outcome=obs.outcome,
            weight=1.0,
            level=probe.level,
            source="pathwise",
            activity_id=int(ref.split(":")[0]),
            rule_key="placement",
            occurred_at=now,
        )
    )
    placement.asked = [
        *placement.asked,
        {
            "ref": ref,
            "skill_id": probe.skill_id,
            "level": probe.level,
            "correct": correct,
        },
    ]
    session.flush()
    state = load_learner(
        session,
        tenant_id=tenant_id,
        person_id=placement.person_id,
        n_levels=snapshot.catalog.n_levels,
    )
    apply_pending_evidence(
        session, tenant_id=tenant_id, person_id=placement.person_id, state=state
    )
    role = learner_role(
        session, tenant_id=tenant_id, person_id=placement.person_id, snapshot=snapshot
    )
    targets = dict(role.targets) if role else {}
    return _advance_placement(session, placement, snapshot, state, targets, now)


# --- decisions and attempts ---


def _history(
    session: Session, *, tenant_id: int, person_id: int, catalog: Catalog
) -> list[AttemptRecord]:
    rows = session.execute(
        _RECENT_ATTEMPTS_OF, {"tenant_id": tenant_id, "person_id": person_id}
    ).all()
    out = []
    for row in reversed(rows):
        info = catalog.activities.get(row.activity_id)
        skills = tuple(lk.skill_id for lk in info.skills) if info else ()
        out.append(
            AttemptRecord(
                activity_id=row.activity_id,
                at=row.finished_at or row.started_at,
                score=row.score,
                skill_ids=skills,
                refresher=row.refresher,
            )
        )
    return out


def _learner_in_module(
    session: Session, *, tenant_id: int, person_id: int, module_id: int
) -> tuple[ModuleSnapshot, LearnerState, RoleInfo | None]:
    """The module, the learner's up-to-date model and their role: what decisions read."""
    snapshot = load_module(session, tenant_id=tenant_id, module_id=module_id)
    state = load_learner(
        session,
        tenant_id=tenant_id,
        person_id=person_id,
        n_levels=snapshot.catalog.n_levels,
    )
    apply_pending_evidence(
        session, tenant_id=tenant_id, person_id=person_id, state=state
    )
    role = learner_role(
        session, tenant_id=tenant_id, person_id=person_id, snapshot=snapshot
    )
    return snapshot, state, role


def next_step(
    session: Session,
    *,
    tenant_id: int,
    person_id: int,
    module_id: int,
    now: dt.datetime,
    time_budget_min: float | None = None,
    config: PolicyConfig | None = None,
) -> Recommendation:
    """The learner's next step in this module with its reason (see adaptive.core.policy)."""
    snapshot, state, role = _learner_in_module(
        session, tenant_id=tenant_id, person_id=person_id, module_id=module_id
    )
    return decide_next_step(
        PolicyInput(
            catalog=snapshot.catalog,
            role_targets=dict(role.targets) if role else {},
            model=state.model,
            now=now,
            refresh=state.refresh,
            history=_history(
                session,
                tenant_id=tenant_id,
                person_id=person_id,
                catalog=snapshot.catalog,
            ),
            overrides=active_overrides(
                session, tenant_id=tenant_id, person_id=person_id, module_id=module_id
            ),
            time_budget_min=time_budget_min,
            config=config or PolicyConfig(),
        )
    )


def score_answers(activity: Activity, answers: Sequence[Any]) -> float | None:
    """Share of the activity's questions answered correctly (None if it has none)."""
    questions = [
        q for q in (activity.content or {}).get("questions", []) if isinstance(q, dict)
    ]
    if not questions:
        return None
    right = sum(
        1
        for i, q in enumerate(questions)
        if i < len(answers) and answers[i] == q.get("answer")
    )
    return right / len(questions)


def record_attempt(
    session: Session,
    *,
    tenant_id: int,
    person_id: int,
    activity_id: int,
    answers: Sequence[Any] = (),
    now: dt.datetime,
    started_at: dt.datetime | None = None,
    module_id: int | None = None,
    score: float | None = None,
    reason: Mapping[str, Any] | None = None,
    refresher: bool = False,
) -> Attempt:
    """Record a finished attempt; its score is evidence for every skill it is tagged with.

    A finished attempt on a skill with a refresher card is also an FSRS review.
    """
    activity = session.execute(
        select(Activity)
        .join(Framework, Framework.id == Activity.framework_id)
        .where(Activity.id == activity_id, _visible_frameworks(tenant_id))
    ).scalar_one_or_none()
    if activity is None:
        raise NotVisibleError(f"activity {activity_id}")
    final = score if score is not None else score_answers(activity, answers)
    attempt = Attempt(
        tenant_id=tenant_id,
        person_id=person_id,
        activity_id=activity_id,
        module_id=module_id,
        answers=list(answers),
        score=final,
        refresher=refresher,
        reason=dict(reason or {}),
        started_at=started_at or now,
        finished_at=now,
    )
    session.add(attempt)
    session.flush()
    if final is None:
        return attempt
    links = session.scalars(
        select(ActivitySkill).where(ActivitySkill.activity_id == activity_id)
    ).all()
    n_items = max(len((activity.content or {}).get("questions", [])), 1)
    for link in links:
        session.add(
            Evidence(
                tenant_id=tenant_id,
                person_id=person_id,
                skill_id=link.skill_id,
                outcome=min(max(final, 0.0), 1.0),
                weight=float(n_items) * link.weight,
                level=link.level,
                source="pathwise",
                activity_id=activity_id,
                statement_id=f"attempt:{attempt.id}",
                occurred_at=now,
            )
        )
    session.flush()
    framework = session.get(Framework, activity.framework_id)
    n_levels = len(framework.scale) if framework and framework.scale else 6
    state = load_learner(
        session, tenant_id=tenant_id, person_id=person_id, n_levels=n_levels
    )
    sched = RefreshScheduler()
    reviewed = {lk.skill_id: state.refresh.get(lk.skill_id) for lk in links}
    apply_pending_evidence(
        session, tenant_id=tenant_id, person_id=person_id, state=state, scheduler=sched
    )
    for skill_id, card in reviewed.items():
        if card is not None:
            state.refresh[skill_id] = sched.review(state.refresh[skill_id], final, now)
            _save_skill(session, state, skill_id, evidence_at=now)
    session.flush()
    return attempt


# --- reports ---


def learner_progress(
    session: Session,
    *,
    tenant_id: int,
    person_id: int,
    module_id: int,
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """Per target skill: probability, level, uncertainty, target, status (learner view)."""
    snapshot, state, role = _learner_in_module(
        session, tenant_id=tenant_id, person_id=person_id, module_id=module_id
    )
    overrides = active_overrides(
        session, tenant_id=tenant_id, person_id=person_id, module_id=module_id
    )
    targets = effective_targets(dict(role.targets) if role else {}, overrides)
    rows = progress_report(
        snapshot.catalog,
        state.model,
        targets,
        now,
        refresh=state.refresh,
        skipped=overrides.skipped_skills,
    )
    return [
        {
            "skill_id": r.skill_id,
            "name": r.name,
            "target": r.target,
            "target_name": snapshot.catalog.level_name(r.target),
            "target_source": r.target_source,
            "status": r.status,
            "p_target": round(r.estimate.p_target, 4),
            "level": r.estimate.level,
            "level_name": snapshot.catalog.level_name(r.estimate.level),
            "expected_level": round(r.estimate.expected_level, 3),
            "uncertainty": round(r.estimate.uncertainty, 3),
            "n_evidence": r.estimate.n_evidence,
            "next_refresh_at": r.next_refresh_at.isoformat()
            if r.next_refresh_at
            else None,
        }
        for r in rows
    ]


def _chunks(values: Sequence[int], size: int = 500) -> Iterator[Sequence[int]]:
    """Bounded IN lists (SQLite caps bound parameters)."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _roles_of(
    session: Session,
    *,
    tenant_id: int,
    person_ids: Sequence[int],
    snapshot: ModuleSnapshot,
) -> dict[int, RoleInfo | None]:
    """``learner_role`` for many learners in a few queries (not one per learner)."""
    assigned: dict[int, LearnerRole] = {}
    for chunk in _chunks(person_ids):
        rows = session.scalars(
            select(LearnerRole)
            .where(
                LearnerRole.tenant_id == tenant_id,
                LearnerRole.person_id.in_(chunk),
                or_(
                    LearnerRole.module_id == snapshot.module_id,
                    LearnerRole.module_id.is_(None),
                ),
            )
            .order_by(LearnerRole.module_id.is_(None), LearnerRole.id)
        )
        for row in rows:
            assigned.setdefault(row.person_id, row)
    role_ids = sorted({row.role_id for row in assigned.values()})
    roles: dict[int, RoleInfo] = {}
    if role_ids:
        visible = session.scalars(
            select(RoleProfile)
            .join(Framework, Framework.id == RoleProfile.framework_id)
            .where(RoleProfile.id.in_(role_ids), _visible_frameworks(tenant_id))
        ).all()
        targets: dict[int, dict[int, int]] = {r.id: {} for r in visible}
        for t in session.scalars(
            select(RoleTarget).where(RoleTarget.role_id.in_(list(targets)))
        ):
            targets[t.role_id][t.skill_id] = t.target_level
        roles = {
            r.id: RoleInfo(r.id, r.name, targets[r.id], r.horizon_days) for r in visible
        }
    out: dict[int, RoleInfo | None] = {}
    for person_id in person_ids:
        choice = assigned.get(person_id)
        found = roles.get(choice.role_id) if choice is not None else None
        out[person_id] = found if found is not None else snapshot.role
    return out


def _models_of(
    session: Session,
    *,
    tenant_id: int,
    person_ids: Sequence[int],
    n_levels: int,
    params: ParamSet,
) -> dict[int, LearnerModel]:
    """Stored learner models for many learners: profiles and skill states in one
    query each (per 500 learners); reads only, so no profile is created."""
    ability: dict[int, tuple[float, int]] = {}
    states: dict[int, dict[int, SkillState]] = {p: {} for p in person_ids}
    for chunk in _chunks(person_ids):
        for profile in session.scalars(
            select(LearnerProfile).where(
                LearnerProfile.tenant_id == tenant_id,
                LearnerProfile.person_id.in_(chunk),
            )
        ):
            ability[profile.person_id] = (profile.ability, profile.n_ability)
        for row in session.scalars(
            select(LearnerSkillState).where(
                LearnerSkillState.tenant_id == tenant_id,
                LearnerSkillState.person_id.in_(chunk),
            )
        ):
            probs = list(row.level_probs)
            if len(probs) != n_levels:
                continue  # the scale changed: the old posterior no longer means anything
            states[row.person_id][row.skill_id] = SkillState(
                probs=np.asarray(probs, dtype=np.float64),
                updated_at=row.updated_at,
                n_evidence=row.n_evidence,
                weight_evidence=row.weight_evidence,
            )
    return {
        person_id: LearnerModel(
            n_levels=n_levels,
            params=params,
            ability=ability.get(person_id, (0.0, 0))[0],
            n_ability=ability.get(person_id, (0.0, 0))[1],
            states=states[person_id],
        )
        for person_id in person_ids
    }


def cohort_capability(
    session: Session,
    *,
    tenant_id: int,
    module_id: int,
    person_ids: Iterable[int],
    now: dt.datetime,
    config: PolicyConfig | None = None,
) -> list[dict[str, Any]]:
    """Per target skill: the share of learners *at target* (capability, not completion).

    Roles, profiles and skill states are loaded for the whole cohort at once.
    """
    cfg = config or PolicyConfig()
    snapshot = load_module(session, tenant_id=tenant_id, module_id=module_id)
    params = load_params(session, tenant_id=tenant_id)
    people = list(dict.fromkeys(person_ids))
    roles = _roles_of(
        session, tenant_id=tenant_id, person_ids=people, snapshot=snapshot
    )
    models = _models_of(
        session,
        tenant_id=tenant_id,
        person_ids=people,
        n_levels=snapshot.catalog.n_levels,
        params=params,
    )
    seen: dict[int, list[tuple[bool, float]]] = {}
    targets_seen: dict[int, int] = {}
    for person_id in people:
        role = roles[person_id]
        if role is None:
            continue
        model = models[person_id]
        for skill_id, target in role.targets.items():
            est = model.estimate(skill_id, target, now)
            at_target = (
                est.p_target >= cfg.mastery and est.n_evidence >= cfg.min_evidence
            )
            seen.setdefault(skill_id, []).append((at_target, est.p_target))
            targets_seen[skill_id] = target
    out = []
    for skill_id in sorted(seen, key=snapshot.catalog.skill_name):
        rows = seen[skill_id]
        hits = sum(1 for flag, _ in rows if flag)
        out.append(
            {
                "skill_id": skill_id,
                "name": snapshot.catalog.skill_name(skill_id),
                "target": targets_seen[skill_id],
                "learners": len(rows),
                "at_target": hits,
                "share_at_target": round(hits / len(rows), 4),
                "mean_p_target": round(sum(p for _, p in rows) / len(rows), 4),
            }
        )
    return out
