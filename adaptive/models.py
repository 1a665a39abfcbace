"""Persistence for the adaptive engine: catalogue (frameworks, skills, activities, roles, modules).

Learner state (mastery, evidence, attempts, overrides, fitted parameters) lives here too.
``tenant_id`` NULL means the install-wide shared catalogue, visible to every tenant.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_tool.infra import revision
from lti_tool.infra.db import Base, utcnow

DEFAULT_SCALE = [
    "Not yet",
    "Aware",
    "Uses it with guidance",
    "Uses it independently",
    "Adapts it to new situations",
    "Builds it for others",
]


class Framework(Base):
    """A skills framework with its proficiency scale (default six levels, 0..5)."""

    __tablename__ = "frameworks"
    __table_args__ = (UniqueConstraint("tenant_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), default=None, index=True
    )
    key: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    scale: Mapped[list[str]] = mapped_column(JSON, default=lambda: list(DEFAULT_SCALE))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    skills: Mapped[list[Skill]] = relationship(
        back_populates="framework", cascade="all, delete-orphan"
    )


class Skill(Base):
    __tablename__ = "skills"
    __table_args__ = (UniqueConstraint("framework_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(
        ForeignKey("frameworks.id", ondelete="CASCADE")
    )
    key: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")

    framework: Mapped[Framework] = relationship(back_populates="skills")


class SkillPrerequisite(Base):
    """Edge of the skill DAG: ``skill`` needs ``prerequisite`` first."""

    __tablename__ = "skill_prerequisites"

    skill_id: Mapped[int] = mapped_column(
        ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True
    )
    prerequisite_id: Mapped[int] = mapped_column(
        ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True
    )


class Activity(Base):
    """A 5-10 minute micro-learning activity (lesson, worked example, quiz, practice...)."""

    __tablename__ = "activities"
    __table_args__ = (UniqueConstraint("framework_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(
        ForeignKey("frameworks.id", ondelete="CASCADE")
    )
    key: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(40), default="lesson")
    # Body: {"markdown": ..., "questions": [{"type", "prompt", "options", "answer",
    # "accepted", "rubric", "explanation"}]}: adaptive.core.answers reads a question.
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    url: Mapped[str | None] = mapped_column(String(1000), default=None)
    duration_min: Mapped[float] = mapped_column(Float, default=5.0)
    difficulty: Mapped[float] = mapped_column(Float, default=0.0)
    target_level: Mapped[int] = mapped_column(Integer, default=1)
    # Activities sharing a group explain the same thing differently (remediation picks another).
    explanation_group: Mapped[str | None] = mapped_column(String(100), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    skill_links: Mapped[list[ActivitySkill]] = relationship(
        back_populates="activity", cascade="all, delete-orphan"
    )


class ActivitySkill(Base):
    """What an activity teaches/assesses: skill, weight, and the level it targets."""

    __tablename__ = "activity_skills"

    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True
    )
    skill_id: Mapped[int] = mapped_column(
        ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True
    )
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    level: Mapped[int] = mapped_column(Integer, default=1)

    activity: Mapped[Activity] = relationship(back_populates="skill_links")


class RoleProfile(Base):
    """A job role with target levels per skill: match the role, higher is not better."""

    __tablename__ = "role_profiles"
    __table_args__ = (UniqueConstraint("framework_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(
        ForeignKey("frameworks.id", ondelete="CASCADE")
    )
    key: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    horizon_days: Mapped[int] = mapped_column(Integer, default=60)

    targets: Mapped[list[RoleTarget]] = relationship(
        back_populates="role", cascade="all, delete-orphan"
    )


class RoleTarget(Base):
    __tablename__ = "role_targets"

    role_id: Mapped[int] = mapped_column(
        ForeignKey("role_profiles.id", ondelete="CASCADE"), primary_key=True
    )
    skill_id: Mapped[int] = mapped_column(
        ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True
    )
    target_level: Mapped[int] = mapped_column(Integer)

    role: Mapped[RoleProfile] = relationship(back_populates="targets")


class Module(Base):
    """What an LMS link launches: a framework's activities toward a default role's targets."""

    __tablename__ = "modules"
    __table_args__ = (UniqueConstraint("framework_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(
        ForeignKey("frameworks.id", ondelete="CASCADE")
    )
    key: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    default_role_id: Mapped[int | None] = mapped_column(
        ForeignKey("role_profiles.id", ondelete="SET NULL"), default=None
    )
    placement_budget: Mapped[int] = mapped_column(Integer, default=8)

    activity_links: Mapped[list[ModuleActivity]] = relationship(
        back_populates="module",
        cascade="all, delete-orphan",
        order_by="ModuleActivity.position",
    )


class ModuleActivity(Base):
    """Authored order of a module's activities (what a linear course would do)."""

    __tablename__ = "module_activities"

    module_id: Mapped[int] = mapped_column(
        ForeignKey("modules.id", ondelete="CASCADE"), primary_key=True
    )
    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer)

    module: Mapped[Module] = relationship(back_populates="activity_links")


class Evidence(Base):
    """One piece of skill evidence: Pathwise's own answers and xAPI-derived signals alike.

    ``outcome`` is in [0, 1] (1 = success); ``weight`` scales how much it counts (a work
    signal may count more or less than a quiz answer). Voided statements flip ``voided``.
    """

    __tablename__ = "evidence"
    __table_args__ = (UniqueConstraint("tenant_id", "statement_id", "skill_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE")
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    skill_id: Mapped[int] = mapped_column(
        ForeignKey("skills.id", ondelete="CASCADE"), index=True
    )
    outcome: Mapped[float] = mapped_column(Float)
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    level: Mapped[int | None] = mapped_column(Integer, default=None)
    source: Mapped[str] = mapped_column(
        String(20), default="pathwise"
    )  # pathwise | xapi
    activity_id: Mapped[int | None] = mapped_column(
        ForeignKey("activities.id", ondelete="SET NULL"), default=None
    )
    statement_id: Mapped[str | None] = mapped_column(String(64), default=None)
    rule_key: Mapped[str | None] = mapped_column(String(100), default=None)
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    voided: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The observation an attempt's row stands for (``attempt_observations``); NULL
    # (xAPI evidence) observes at the activity's difficulty with the skill's values.
    difficulty: Mapped[float | None] = mapped_column(Float, default=None)
    guess: Mapped[float | None] = mapped_column(Float, default=None)
    slip: Mapped[float | None] = mapped_column(Float, default=None)
    learn_scale: Mapped[float | None] = mapped_column(Float, default=None)
    ability_scale: Mapped[float | None] = mapped_column(Float, default=None)


class SkillParams(Base):
    """Fitted BKT parameters per skill (tenant_id NULL = install-wide defaults)."""

    __tablename__ = "skill_params"
    __table_args__ = (UniqueConstraint("tenant_id", "skill_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), default=None
    )
    skill_id: Mapped[int] = mapped_column(ForeignKey("skills.id", ondelete="CASCADE"))
    prior: Mapped[float] = mapped_column(Float)
    learn: Mapped[float] = mapped_column(Float)
    guess: Mapped[float] = mapped_column(Float)
    slip: Mapped[float] = mapped_column(Float)
    forget_per_day: Mapped[float] = mapped_column(Float)
    n_observations: Mapped[int] = mapped_column(Integer, default=0)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    fitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# --- learner state (the engine's memory per tenant and person) ---


class LearnerProfile(Base):
    """Per learner: the ability estimate and how far the evidence log has been folded in."""

    __tablename__ = "learner_profiles"
    __table_args__ = (UniqueConstraint("tenant_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE")
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    ability: Mapped[float] = mapped_column(Float, default=0.0)
    n_ability: Mapped[int] = mapped_column(Integer, default=0)
    # Evidence rows with a larger id have not been applied to the skill states yet.
    last_evidence_id: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class LearnerSkillState(Base):
    """The learner model's posterior for one skill, plus its refresher card."""

    __tablename__ = "learner_skill_states"
    __table_args__ = (UniqueConstraint("tenant_id", "person_id", "skill_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE")
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    skill_id: Mapped[int] = mapped_column(ForeignKey("skills.id", ondelete="CASCADE"))
    # P(level >= 1) and the median level at the last update (for queries and reports).
    p_known: Mapped[float] = mapped_column(Float)
    level: Mapped[int] = mapped_column(Integer, default=0)
    level_probs: Mapped[list[float]] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column()
    last_evidence_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    n_evidence: Mapped[int] = mapped_column(Integer, default=0)
    weight_evidence: Mapped[float] = mapped_column(Float, default=0.0)
    mastered_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    fsrs_card: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    next_refresh_at: Mapped[dt.datetime | None] = mapped_column(
        default=None, index=True
    )


class LearnerRole(Base):
    """Which role a learner works toward, optionally only inside one module."""

    __tablename__ = "learner_roles"
    __table_args__ = (UniqueConstraint("tenant_id", "person_id", "module_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE")
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    role_id: Mapped[int] = mapped_column(
        ForeignKey("role_profiles.id", ondelete="CASCADE")
    )
    module_id: Mapped[int | None] = mapped_column(
        ForeignKey("modules.id", ondelete="CASCADE"), default=None
    )
    assigned_by: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Attempt(Base):
    """A learner's try at an activity: answers, score, and the reason it was offered."""

    __tablename__ = "attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE")
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activities.id", ondelete="CASCADE")
    )
    module_id: Mapped[int | None] = mapped_column(
        ForeignKey("modules.id", ondelete="SET NULL"), default=None
    )
    answers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    score: Mapped[float | None] = mapped_column(Float, default=None)
    refresher: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class PlacementSession(Base):
    """The adaptive placement check at first launch: questions asked and why it stopped."""

    __tablename__ = "placement_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE")
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id", ondelete="CASCADE"))
    budget: Mapped[int] = mapped_column(Integer, default=8)
    # [{"ref", "skill_id", "level", "correct", "expected_gain_bits"}], in order asked.
    asked: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    pending_ref: Mapped[str | None] = mapped_column(String(100), default=None)
    stop_code: Mapped[str | None] = mapped_column(String(40), default=None)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)


OVERRIDE_KINDS = (
    "pin",
    "skip_skill",
    "skip_activity",
    "add_target",
    "set_target",
    "reorder",
    # A manager looked at the path and left a note: a record, never a decision input.
    "reviewed",
)


class PathOverride(Base):
    """A manager's (or learner's) change to a path; revoked ones are kept for the record."""

    __tablename__ = "path_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE")
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    module_id: Mapped[int | None] = mapped_column(
        ForeignKey("modules.id", ondelete="CASCADE"), default=None
    )
    kind: Mapped[str] = mapped_column(String(20))
    skill_id: Mapped[int | None] = mapped_column(
        ForeignKey("skills.id", ondelete="CASCADE"), default=None
    )
    activity_id: Mapped[int | None] = mapped_column(
        ForeignKey("activities.id", ondelete="CASCADE"), default=None
    )
    level: Mapped[int | None] = mapped_column(Integer, default=None)
    order: Mapped[list[int]] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)


CATALOGUE_CLASSES: tuple[type[Base], ...] = (
    Framework,
    Skill,
    SkillPrerequisite,
    Activity,
    ActivitySkill,
    RoleProfile,
    RoleTarget,
    Module,
    ModuleActivity,
)

# Module snapshots are cached per process by the catalogue revision; fitted
# parameters by the configuration revision (a retrain must not rebuild snapshots);
# who has role assignments or overrides by the paths revision.
revision.track(revision.CATALOGUE, *CATALOGUE_CLASSES)
revision.track(revision.CONFIG, SkillParams)
revision.track(revision.PATHS, LearnerRole, PathOverride)
