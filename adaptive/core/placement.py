"""Pure: the placement check, a short computerised adaptive test over the role's skills.

Each step asks the question with the largest expected entropy reduction of its skill's
level posterior, truncated at the role's target (above the need is all the same). All
candidate questions are scored at once with numpy (one table per catalogue, built
once), so a step over a role of 1,000 skills costs about a millisecond.

One answer informs more than its own skill, which is what keeps the check short:

* the learner model's ability (an Elo-style shift of every untouched skill's prior)
  moves with each answer;
* a right answer at level ``l`` is weaker evidence (``related_weight``) that the
  skill's prerequisites are known at ``l``; a wrong one, that its dependants are not.

The check stops when every target skill's level (up to the target) is known with
``confidence``, when the answers so far are clear-cut (see ``clear_cut_run``), when
mixed answers on the lowest-level questions show the learner is not above the
module's start (``lowest_level_run``), when no
question is expected to tell ``min_gain_bits`` or more, or at the budget. Answers are
evidence with no learning; they never count as a check of the mastery loop, so
placement alone only lets it skip teaching of levels the model is sure of.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from adaptive.core.catalogue import PLACEMENT_KIND, Catalog
from adaptive.core.graph import SkillGraph
from adaptive.core.learner import LearnerModel
from adaptive.core.learner_types import Observation
from adaptive.core.level_belief import DIFFICULTY_SCALE
from adaptive.core.params import PROB_MIN

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
RELATED_WEIGHT = 0.5


@dataclass(frozen=True, slots=True)
class Probe:
    """A placement question: it measures ``skill_id`` at ``level``; ``ref`` finds its text."""

    skill_id: int
    level: int
    ref: str
    difficulty: float = 0.0


@dataclass(frozen=True, slots=True)
class PlacementConfig:
    """Stopping rules and the cross-skill weight; one set of defaults for everyone."""

    budget: int = 8
    confidence: float = 0.9
    #: A question expected to tell less than this (bits) is not worth a learner's minute.
    min_gain_bits: float = 0.1
    #: How many answers' worth a placement answer counts for a related skill.
    related_weight: float = RELATED_WEIGHT
    #: Answers that all agree (all right or all wrong; one dissent is allowed per
    #: two further answers, for guessing and slips) mark a clear-cut learner. All
    #: wrong: the module starts above them, and teaching starts at the bottom. All
    #: right: they are above the questions asked, and the mastery loop checks each
    #: target before any teaching anyway, so more questions would only cost minutes.
    clear_cut_run: int = 4
    #: After this many answers, all on the lowest-level questions of their skills
    #: and with at least two wrong, the learner is not above the module's start:
    #: teaching starts at the bottom whatever more questions there would say.
    lowest_level_run: int = 5


@dataclass(frozen=True, slots=True)
class ProbeChoice:
    probe: Probe
    expected_gain_bits: float
    p_correct: float
    p_target: float


@dataclass(frozen=True, slots=True)
class PlacementStep:
    """Either the next question, or the decision to stop and why (code + numbers)."""

    choice: ProbeChoice | None
    stop_code: str | None
    numbers: Mapping[str, float] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.choice is None


@dataclass(frozen=True, eq=False)
class ProbeTable:
    """Every placement question of a catalogue as read-only arrays (build once)."""

    probes: tuple[Probe, ...]
    skill: IntArray
    level: IntArray
    difficulty: FloatArray
    index: Mapping[str, int]

    @classmethod
    def build(cls, probes: Iterable[Probe]) -> ProbeTable:
        unique: dict[str, Probe] = {}
        for probe in probes:
            unique.setdefault(probe.ref, probe)
        items = tuple(unique.values())
        return cls(
            probes=items,
            skill=np.asarray([p.skill_id for p in items], dtype=np.int64),
            level=np.asarray([p.level for p in items], dtype=np.int64),
            difficulty=np.asarray([p.difficulty for p in items], dtype=np.float64),
            index={p.ref: i for i, p in enumerate(items)},
        )

    def get(self, ref: str) -> Probe | None:
        i = self.index.get(ref)
        return None if i is None else self.probes[i]

    def __len__(self) -> int:
        return len(self.probes)


@dataclass
class Placement:
    """One placement check in progress: refs asked, the one pending, why it stopped.

    The service keeps it in a ``PlacementSession`` row; the bench keeps it in memory.
    """

    budget: int
    asked: list[str] = field(default_factory=list)
    #: Whether each asked question was answered right, in order.
    answers: list[bool] = field(default_factory=list)
    pending: str | None = None
    stop_code: str | None = None

    @property
    def done(self) -> bool:
        return self.stop_code is not None


def catalogue_probes(catalog: Catalog) -> tuple[Probe, ...]:
    """The catalogue's placement items as probes (ref ``"<activity id>:<question>"``).

    Only placement items: a quiz is a check of the mastery loop, and a whole quiz
    asked as a placement question would cost its minutes twice.
    """
    return tuple(
        Probe(
            a.skills[0].skill_id,
            max(a.skills[0].level, 1),
            f"{a.id}:{i}",
            a.difficulty,
        )
        for a in catalog.activities.values()
        if a.kind == PLACEMENT_KIND and a.skills
        for i in range(a.n_items)
    )


def _table(probes: ProbeTable | Iterable[Probe]) -> ProbeTable:
    return probes if isinstance(probes, ProbeTable) else ProbeTable.build(probes)


def _xlogx(p: FloatArray) -> FloatArray:
    safe = np.where(p > 1e-12, p, 1.0)
    return np.asarray(np.where(p > 1e-12, p * np.log2(safe), 0.0), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class _Beliefs:
    """The target skills' posteriors truncated at their targets, row per skill."""

    skill_ids: IntArray  # sorted
    targets: IntArray
    truncated: FloatArray
    p_target: FloatArray

    def decided(self, confidence: float) -> int:
        """Skills whose level (up to the target) is known with ``confidence``: "not at
        target" alone is not enough, the levels below it decide what is taught."""
        if len(self.truncated) == 0:
            return 0
        return int(np.count_nonzero(self.truncated.max(axis=1) >= confidence))


def _beliefs(
    model: LearnerModel, targets: Mapping[int, int], now: dt.datetime
) -> _Beliefs:
    top = model.n_levels - 1
    items = sorted((s, min(max(t, 1), top)) for s, t in targets.items() if t > 0)
    skill_ids = np.asarray([s for s, _ in items], dtype=np.int64)
    goal = np.asarray([t for _, t in items], dtype=np.int64)
    probs = model.posteriors([s for s, _ in items], now)
    tail = np.cumsum(probs[:, ::-1], axis=1)[:, ::-1]
    rows = np.arange(len(items))
    levels = np.arange(model.n_levels)
    truncated = np.where(levels[None, :] < goal[:, None], probs, 0.0)
    truncated[rows, goal] = tail[rows, goal]
    return _Beliefs(skill_ids, goal, truncated, tail[rows, goal])


def _score(
    model: LearnerModel,
    table: ProbeTable,
    beliefs: _Beliefs,
    asked: Collection[str],
) -> tuple[IntArray, FloatArray, FloatArray, IntArray]:
    """Candidate probes (indexes), their expected gain (bits), P(correct), skill row."""
    n_skills = len(beliefs.skill_ids)
    if n_skills == 0 or len(table.probes) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, np.zeros(0), np.zeros(0), empty
    pos = np.minimum(np.searchsorted(beliefs.skill_ids, table.skill), n_skills - 1)
    ok = (beliefs.skill_ids[pos] == table.skill) & (table.level >= 1)
    ok &= table.level <= beliefs.targets[pos]
    for ref in asked:
        i = table.index.get(ref)
        if i is not None:
            ok[i] = False
    cand = np.flatnonzero(ok)
    row = pos[cand]
    level = table.level[cand]
    guess_by, slip_by, _ = model.level_params([int(s) for s in beliefs.skill_ids])
    guess = guess_by[row, level]
    slip = slip_by[row, level]
    shift = DIFFICULTY_SCALE * table.difficulty[cand]
    if np.any(shift):
        guess = 1.0 / (1.0 + np.exp(-(np.log(guess / (1.0 - guess)) - shift)))
        slip = 1.0 / (1.0 + np.exp(-(np.log(slip / (1.0 - slip)) + shift)))
    states = np.arange(model.n_levels)
    pc = np.where(
        states[None, :] >= level[:, None], 1.0 - slip[:, None], guess[:, None]
    )
    pc = np.clip(pc, PROB_MIN, 1.0 - PROB_MIN)
    q = beliefs.truncated[row]
    right = q * pc
    wrong = q - right
    p1 = right.sum(axis=1)
    p0 = 1.0 - p1
    # Mutual information between the answer and the truncated level.
    h_prior = -_xlogx(q).sum(axis=1)
    h_right = -(_xlogx(right).sum(axis=1) - _xlogx(p1))
    h_wrong = -(_xlogx(wrong).sum(axis=1) - _xlogx(p0))
    gain = np.maximum(h_prior - h_right - h_wrong, 0.0)
    return cand, gain, p1, row


def choose_probe(
    model: LearnerModel,
    probes: ProbeTable | Iterable[Probe],
    targets: Mapping[int, int],
    now: dt.datetime,
    asked: Collection[str] = (),
) -> ProbeChoice | None:
    """The unasked question that tells most about the role's skills (bits, expected).

    Only levels 1..target matter for a skill: a question above the target cannot change
    a decision, so it is never asked. Ties go to the first probe (deterministic).
    """
    table = _table(probes)
    beliefs = _beliefs(model, targets, now)
    return _best(table, beliefs, *_score(model, table, beliefs, asked))


def _best(
    table: ProbeTable,
    beliefs: _Beliefs,
    cand: IntArray,
    gain: FloatArray,
    p1: FloatArray,
    row: IntArray,
) -> ProbeChoice | None:
    if len(cand) == 0:
        return None
    k = int(np.argmax(gain))
    return ProbeChoice(
        table.probes[int(cand[k])],
        float(gain[k]),
        float(p1[k]),
        float(beliefs.p_target[row[k]]),
    )


def confident_share(
    model: LearnerModel, targets: Mapping[int, int], now: dt.datetime, confidence: float
) -> tuple[int, int]:
    """How many target skills have their level (up to the target) known with
    ``confidence``, out of how many."""
    beliefs = _beliefs(model, targets, now)
    return beliefs.decided(confidence), len(beliefs.skill_ids)


def next_placement_step(
    model: LearnerModel,
    probes: ProbeTable | Iterable[Probe],
    targets: Mapping[int, int],
    now: dt.datetime,
    *,
    asked: Collection[str] = (),
    answers: Sequence[bool] = (),
    config: PlacementConfig | None = None,
) -> PlacementStep:
    """Pick the next question or stop (budget, confident, clear-cut, or nothing
    informative left); ``answers`` are the asked questions' outcomes, in order."""
    cfg = config or PlacementConfig()
    table = _table(probes)
    beliefs = _beliefs(model, targets, now)
    total = len(beliefs.skill_ids)
    decided = beliefs.decided(cfg.confidence)
    numbers: dict[str, float] = {
        "asked": len(asked),
        "budget": cfg.budget,
        "skills_decided": decided,
        "skills": total,
        "confidence": cfg.confidence,
    }
    if len(asked) >= cfg.budget:
        return PlacementStep(None, "budget_reached", numbers)
    if decided == total:
        return PlacementStep(None, "confident", numbers)
    if _clear_cut(answers, cfg.clear_cut_run):
        numbers["right"] = sum(answers)
        return PlacementStep(None, "clear_cut", numbers)
    if _mixed_at_lowest_level(table, asked, answers, cfg.lowest_level_run):
        numbers["right"] = sum(answers)
        return PlacementStep(None, "mixed_at_lowest_level", numbers)
    choice = _best(table, beliefs, *_score(model, table, beliefs, asked))
    if choice is None or choice.expected_gain_bits < cfg.min_gain_bits:
        numbers["best_gain_bits"] = choice.expected_gain_bits if choice else 0.0
        return PlacementStep(None, "no_informative_question", numbers)
    numbers["expected_gain_bits"] = choice.expected_gain_bits
    return PlacementStep(choice, None, numbers)


def _mixed_at_lowest_level(
    table: ProbeTable, asked: Collection[str], answers: Sequence[bool], run: int
) -> bool:
    """At least ``run`` answers, two or more wrong, every one on a question at the
    lowest level its skill has questions for."""
    if run <= 0 or len(answers) < run or sum(1 for a in answers if not a) < 2:
        return False
    for ref in asked:
        i = table.index.get(ref)
        if i is None:
            return False
        same = table.level[(table.skill == table.skill[i]) & (table.level >= 1)]
        if table.level[i] > same.min():
            return False
    return True


def _clear_cut(answers: Sequence[bool], run: int) -> bool:
    n = len(answers)
    if run <= 0 or n < run:
        return False
    right = sum(1 for a in answers if a)
    return min(right, n - right) <= (n - run + 1) // 2


def placement_observation(probe: Probe, correct: bool, at: dt.datetime) -> Observation:
    """A placement answer measures without teaching (learn_scale 0)."""
    return Observation(
        skill_id=probe.skill_id,
        level=probe.level,
        outcome=1.0 if correct else 0.0,
        at=at,
        difficulty=probe.difficulty,
        learn_scale=0.0,
    )


def related_observations(
    graph: SkillGraph,
    probe: Probe,
    correct: bool,
    at: dt.datetime,
    *,
    n_levels: int,
    weight: float = RELATED_WEIGHT,
) -> list[Observation]:
    """The cross-skill prior: what one answer says, more weakly, about related skills.

    A right answer at level ``l`` suggests the prerequisites are known at ``l`` too (a
    learner rarely masters a skill above its foundations); a wrong one suggests the
    dependants are not known at ``l``. Measured without teaching, and kept out of the
    ability (the direct answer already moved it).
    """
    if weight <= 0.0:
        return []
    level = min(max(probe.level, 1), n_levels - 1)
    related = (
        graph.prerequisites.get(probe.skill_id, ())
        if correct
        else graph.dependents.get(probe.skill_id, ())
    )
    return [
        Observation(
            skill_id=skill,
            level=level,
            outcome=1.0 if correct else 0.0,
            at=at,
            weight=weight,
            learn_scale=0.0,
            ability_scale=0.0,
        )
        for skill in related
    ]
