"""Pure: targets after overrides, each skill's status and the per-skill progress report.

Shared by the services (progress reports, refresher cards, pending evidence) and the
older card-based policy (``adaptive.core.policy``), whose thresholds
``PolicyConfig`` holds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from adaptive.core.catalogue import Catalog
from adaptive.core.decisions import (
    DONE_STATUSES,
    STATUS_IN_PROGRESS,
    STATUS_LOCKED,
    STATUS_MAINTAINED,
    STATUS_MASTERED,
    STATUS_NOT_STARTED,
    STATUS_REFRESH_DUE,
    STATUS_SKIPPED,
    Overrides,
)
from adaptive.core.learner import LearnerModel
from adaptive.core.learner_types import SkillEstimate
from adaptive.core.refresh import RefreshState


@dataclass(frozen=True)
class PolicyConfig:
    """Thresholds of the policy (all probabilities of being at target)."""

    mastery: float = 0.95
    maintain: float = 0.7
    prerequisite_ready: float = 0.8
    min_evidence: int = 1
    pass_score: float = 0.6
    info_weight: float = 1.0
    # While gaps remain, a due refresher goes first only when its predicted recall is
    # below this (or drift brought it forward); 1.0 = every due refresher goes first.
    refresh_recall_while_learning: float = 1.0


@dataclass(frozen=True, slots=True)
class Target:
    level: int
    source: str  # role | manager | learner | prerequisite


@dataclass(frozen=True, slots=True)
class SkillProgress:
    """One skill's line in a progress report."""

    skill_id: int
    name: str
    target: int
    target_source: str
    status: str
    estimate: SkillEstimate
    next_refresh_at: dt.datetime | None


def effective_targets(
    role_targets: Mapping[int, int], overrides: Overrides
) -> dict[int, Target]:
    """Role targets after a manager's changes and additions (a level of 0 removes one)."""
    # Targets are immutable: one shared object per level (roles have thousands).
    shared = {t: Target(t, "role") for t in set(role_targets.values()) if t > 0}
    out = {s: shared[t] for s, t in role_targets.items() if t > 0}
    for skill_id, level in overrides.target_changes.items():
        if level <= 0:
            out.pop(skill_id, None)
        else:
            out[skill_id] = Target(level, "manager")
    for skill_id, level in overrides.added_targets.items():
        if level > 0 and (skill_id not in out or out[skill_id].level < level):
            out[skill_id] = Target(
                level, "learner" if skill_id in role_targets else "manager"
            )
    for skill_id in overrides.skipped_skills:
        out.pop(skill_id, None)
    return out


def skill_status(
    p_target: float,
    n_evidence: int,
    refresh: RefreshState | None,
    now: dt.datetime,
    config: PolicyConfig,
) -> str:
    """Mastered needs probability *and* evidence; once mastered, a skill stays done
    (maintained) above ``maintain`` and comes back through refreshers, not re-teaching."""
    if refresh is not None and p_target >= config.maintain:
        return STATUS_REFRESH_DUE if refresh.due <= now else STATUS_MAINTAINED
    if p_target >= config.mastery and n_evidence >= config.min_evidence:
        return STATUS_MASTERED
    return STATUS_IN_PROGRESS if n_evidence else STATUS_NOT_STARTED


def mastery_reached(
    model: LearnerModel,
    skill_id: int,
    target: int,
    now: dt.datetime,
    config: PolicyConfig,
) -> bool:
    """True when the skill meets the mastery bar (used to start its refresher card)."""
    est = model.estimate(skill_id, target, now)
    return est.p_target >= config.mastery and est.n_evidence >= config.min_evidence


def progress_report(
    catalog: Catalog,
    model: LearnerModel,
    targets: Mapping[int, Target],
    now: dt.datetime,
    *,
    refresh: Mapping[int, RefreshState] | None = None,
    config: PolicyConfig | None = None,
    skipped: Iterable[int] = (),
) -> list[SkillProgress]:
    """Per target skill: probability, level, uncertainty, status (graph order)."""
    cfg = config or PolicyConfig()
    cards = refresh or {}
    ready = ReadyCache(catalog, model, targets, now, cfg)
    rows: list[SkillProgress] = []
    skipped_set = set(skipped)
    order = [s for s in catalog.graph.order if s in targets or s in skipped_set]
    order += [s for s in targets if s not in catalog.graph]
    for skill_id in order:
        tgt = targets.get(skill_id)
        level = tgt.level if tgt else 1
        est = model.estimate(skill_id, level, now)
        card = cards.get(skill_id)
        if skill_id in skipped_set:
            status = STATUS_SKIPPED
        else:
            status = skill_status(est.p_target, est.n_evidence, card, now, cfg)
            if status not in DONE_STATUSES and not ready.prerequisites_ready(
                skill_id, 1
            ):
                status = STATUS_LOCKED
        rows.append(
            SkillProgress(
                skill_id=skill_id,
                name=catalog.skill_name(skill_id),
                target=level,
                target_source=tgt.source if tgt else "skipped",
                status=status,
                estimate=est,
                next_refresh_at=card.due if card else None,
            )
        )
    return rows


class ReadyCache:
    """Memoised "are the prerequisites of skill s met for teaching level l?"."""

    def __init__(
        self,
        catalog: Catalog,
        model: LearnerModel,
        targets: Mapping[int, Target],
        now: dt.datetime,
        config: PolicyConfig,
    ) -> None:
        self.catalog = catalog
        self.model = model
        self.targets = targets
        self.now = now
        self.config = config
        self._p: dict[tuple[int, int], float] = {}
        self._ready: dict[tuple[int, int], tuple[int, ...]] = {}

    def p(self, skill_id: int, level: int) -> float:
        key = (skill_id, level)
        found = self._p.get(key)
        if found is None:
            found = self.model.p_at_least(skill_id, level, self.now)
            self._p[key] = found
        return found

    def unmet(self, skill_id: int, level: int) -> tuple[int, ...]:
        """Prerequisites not yet at the level this step needs (capped by their target)."""
        key = (skill_id, level)
        found = self._ready.get(key)
        if found is None:
            missing = []
            for pre in self.catalog.graph.prerequisites_of(skill_id):
                tgt = self.targets.get(pre)
                need = min(level, tgt.level if tgt else 1)
                if self.p(pre, need) < self.config.prerequisite_ready:
                    missing.append(pre)
            found = tuple(missing)
            self._ready[key] = found
        return found

    def prerequisites_ready(self, skill_id: int, level: int) -> bool:
        return not self.unmet(skill_id, level)
