"""Generated Pathwise catalogues for the misspecified-learner bench.

The engine must be judged on catalogues it was not tuned on, so these are built from a
seed using only the public catalogue format (docs/author-guide.md): a framework with a
six-level scale, about 40 skills in a shallow prerequisite DAG, a few roles whose
targets stop well short of the top ("higher is not better"), explanation groups of a
lesson and a worked example per skill and level, practice tasks, quizzes, refreshers,
placement items, and one module whose authored order is a spiral linear course.

What the format cannot carry (how hard each question really is, how each activity
explains things) is returned beside the document as a side table, `SideParams`, drawn
from the same seed. Only the simulated learners read it; a tutor sees the document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

TOP_LEVEL = 5
SCALE = [
    "Not yet: has not worked with this",
    "Aware: knows what it is and when it matters",
    "Guided: does it with templates, checklists or help",
    "Independent: does it reliably in their own work",
    "Adaptive: handles unfamiliar cases and combines techniques",
    "Builds it for others: designs methods and standards others rely on",
]
TOPICS = [
    "Spreadsheet modelling",
    "Data cleaning",
    "Visualisation",
    "Descriptive statistics",
    "Querying databases",
    "Automation scripts",
    "Stakeholder communication",
    "Data governance",
    "Experiment design",
    "Forecasting",
    "Dashboards",
    "Data ethics",
    "Survey analysis",
    "Process mapping",
]
ASPECTS = [
    "foundations",
    "core techniques",
    "quality checks",
    "advanced patterns",
    "enabling others",
]
ROLE_NAMES = [
    "Operations analyst",
    "Data engineer",
    "Team lead",
    "Research specialist",
    "Programme coordinator",
    "Product owner",
]
HORIZONS = (30, 60, 90)
#: Placement items: duration one minute; everything else from these ranges (minutes).
DURATIONS = {
    "lesson": (5, 7),
    "worked_example": (6, 8),
    "practice": (8, 10),
    "quiz": (4, 6),
    "refresher": (2, 3),
}
#: Visible relative difficulty by type, as the demo sets it.
DIFFICULTY = {
    "lesson": 0.0,
    "worked_example": -0.25,
    "practice": 0.5,
    "quiz": 0.0,
    "refresher": -0.5,
    "placement_item": 0.0,
}


class QuestionRef(NamedTuple):
    """One question: the activity that holds it and its 0-based position there."""

    activity: str
    position: int


@dataclass(frozen=True)
class ItemParams:
    """Hidden 3PL parameters of one question, on the framework's level scale.

    `difficulty` is the proficiency at which the answer is right halfway between pure
    guessing and certainty; `discrimination` is the slope per level; `guessing` the
    floor for someone who knows nothing.
    """

    difficulty: float
    discrimination: float
    guessing: float


@dataclass(frozen=True)
class ActivityParams:
    """Hidden traits of an activity: its explanation style and how well it is made."""

    style: str
    quality: float


@dataclass(frozen=True)
class SideParams:
    """The hidden table the format cannot carry, keyed like the document."""

    questions: dict[QuestionRef, ItemParams]
    activities: dict[str, ActivityParams]


@dataclass(frozen=True)
class GeneratedCatalogue:
    """A catalogue document and its hidden side table, both from one seed."""

    seed: int
    doc: dict[str, Any]
    side: SideParams


def slug(text: str) -> str:
    """A catalogue key from a name (lower-case letters, digits and dashes)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def generate(
    seed: int,
    *,
    skills: int = 40,
    roles: int = 4,
    activities_per_skill_level: int = 2,
) -> GeneratedCatalogue:
    """Build a catalogue and its side table; the same arguments give the same result.

    `activities_per_skill_level` is the size of each explanation group (alternating
    lesson and worked example, at least 2); practice tasks, quizzes, refreshers and
    placement items come on top.
    """
    if skills < 5 or roles < 1:
        raise ValueError("need at least 5 skills and 1 role")
    builder = _Builder(np.random.default_rng(seed), max(2, activities_per_skill_level))
    doc = builder.build(seed, skills, roles)
    return GeneratedCatalogue(seed, doc, SideParams(builder.questions, builder.hidden))


def generate_catalogue(
    seed: int,
    *,
    skills: int = 40,
    roles: int = 4,
    activities_per_skill_level: int = 2,
) -> dict[str, Any]:
    """The catalogue document alone (its side table is `side_params` of the seed)."""
    return generate(
        seed,
        skills=skills,
        roles=roles,
        activities_per_skill_level=activities_per_skill_level,
    ).doc


def side_params(
    seed: int,
    *,
    skills: int = 40,
    roles: int = 4,
    activities_per_skill_level: int = 2,
) -> SideParams:
    """The hidden side table for `generate_catalogue` with the same arguments."""
    return generate(
        seed,
        skills=skills,
        roles=roles,
        activities_per_skill_level=activities_per_skill_level,
    ).side


@dataclass
class _Skill:
    key: str
    name: str
    cluster: int
    position: int
    prerequisites: list[str]
    top: int = 2


class _Builder:
    """Draws one catalogue; kept as a class so the side table fills in as it goes."""

    def __init__(self, rng: np.random.Generator, group_size: int) -> None:
        self.rng = rng
        self.group_size = group_size
        self.questions: dict[QuestionRef, ItemParams] = {}
        self.hidden: dict[str, ActivityParams] = {}
        self.activities: list[dict[str, Any]] = []
        self.by_key: dict[str, _Skill] = {}

    def build(self, seed: int, n_skills: int, n_roles: int) -> dict[str, Any]:
        skills = self._skills(n_skills)
        roles = self._roles(skills, n_roles)
        for role in roles:
            for key, level in role["targets"].items():
                self.by_key[key].top = max(self.by_key[key].top, level)
        targeted = {key for role in roles for key in role["targets"]}
        order = self._activities(skills, targeted)
        first_role = roles[0]["key"]
        return {
            "format": "pathwise-catalogue",
            "version": 1,
            "framework": {
                "key": f"bench-analytics-{seed}",
                "name": f"Analytics practice (generated, seed {seed})",
                "description": (
                    "A generated framework for benchmarking adaptive paths. Higher is "
                    "not better: each role sets the level its work needs."
                ),
                "scale": SCALE,
            },
            "skills": [
                {
                    "key": s.key,
                    "name": s.name,
                    "description": f"{s.name}: what it takes, step by step.",
                    "prerequisites": s.prerequisites,
                }
                for s in skills
            ],
            "roles": roles,
            "activities": self.activities,
            "modules": [
                {
                    "key": "analytics-course",
                    "title": "Analytics practice: the full course",
                    "description": "Every skill, level by level, then a review.",
                    "default_role": first_role,
                    "placement_budget": 8,
                    "activities": order,
                }
            ],
        }

    # -- skills and roles ------------------------------------------------------------

    def _skills(self, n: int) -> list[_Skill]:
        """Clusters of five skills; each leans on earlier ones, never deeper than 6."""
        rng = self.rng
        topic_ids = rng.permutation(len(TOPICS))
        skills: list[_Skill] = []
        ancestors: dict[str, set[str]] = {}
        depth: dict[str, int] = {}
        for i in range(n):
            cluster, position = divmod(i, len(ASPECTS))
            topic = (
                TOPICS[topic_ids[cluster]]
                if cluster < len(TOPICS)
                else f"Topic {cluster + 1}"
            )
            name = f"{topic}: {ASPECTS[position]}"
            key = slug(name)
            in_cluster = skills[i - position : i]
            earlier = [s for s in skills if s.cluster < cluster and s.position <= 2]
            chosen: list[str] = []
            if position > 0:
                pick = i - 1 if rng.random() < 0.8 else i - position
                chosen.append(skills[pick].key)
                if position >= 3 and rng.random() < 0.3:
                    chosen.append(in_cluster[int(rng.integers(0, position - 1))].key)
            if earlier and rng.random() < (0.6 if position == 0 else 0.25):
                chosen.append(earlier[int(rng.integers(len(earlier)))].key)
            direct = _direct_only(chosen, ancestors)
            while direct and 1 + max(depth[p] for p in direct) > 6:
                direct.pop()
            ancestors[key] = set().union(*(ancestors[p] | {p} for p in direct))
            depth[key] = 1 + max((depth[p] for p in direct), default=0)
            skill = _Skill(key, name, cluster, position, direct)
            skills.append(skill)
            self.by_key[key] = skill
        return skills

    def _roles(self, skills: list[_Skill], n: int) -> list[dict[str, Any]]:
        """Roles focus on two clusters at 2-4, touch a few others at 1-2, rarely 5."""
        rng = self.rng
        clusters = sorted({s.cluster for s in skills})
        order = [int(c) for c in rng.permutation(clusters)]
        roles = []
        for r in range(n):
            focus = {order[(2 * r) % len(order)], order[(2 * r + 1) % len(order)]}
            targets: dict[str, int] = {}
            fours = 0
            for s in skills:
                if s.cluster in focus and s.position <= 3:
                    level = int(
                        rng.choice([2, 3, 3, 3, 4], p=[0.2, 0.25, 0.25, 0.2, 0.1])
                    )
                    if level == 4:
                        fours += 1
                        if fours > 2:
                            level = 3
                    targets[s.key] = level
            others = [s for s in skills if s.cluster not in focus and s.position <= 2]
            for idx in rng.choice(len(others), size=min(5, len(others)), replace=False):
                targets[others[int(idx)].key] = int(rng.choice([1, 2, 2]))
            if rng.random() < 0.3:
                focus_keys = [k for k, v in targets.items() if v == 4]
                if focus_keys:
                    targets[focus_keys[0]] = 5
            name = ROLE_NAMES[r % len(ROLE_NAMES)]
            if r >= len(ROLE_NAMES):
                name = f"{name} {r // len(ROLE_NAMES) + 1}"
            ordered = {s.key: targets[s.key] for s in skills if s.key in targets}
            roles.append(
                {
                    "key": slug(name),
                    "name": name,
                    "description": (
                        "Needs depth in its two focus areas and only awareness "
                        "elsewhere; levels follow the work, not ambition."
                    ),
                    "horizon_days": HORIZONS[r % len(HORIZONS)],
                    "targets": ordered,
                }
            )
        return roles

    # -- activities --------------------------------------------------------------------

    def _activities(self, skills: list[_Skill], targeted: set[str]) -> list[str]:
        """Create every activity; return the module's spiral order.

        The course runs levels 1-2 of every skill in prerequisite order, then level 3,
        then levels 4-5, then a review of refreshers: the linear course a sensible
        author would write when they cannot tailor it.
        """
        bands: list[list[str]] = [[], [], []]
        review: list[str] = []
        for s in skills:
            for level in range(1, s.top + 1):
                band = bands[0 if level <= 2 else 1 if level == 3 else 2]
                band.extend(self._level_unit(s, level))
            if s.top >= 3 or s.key in targeted:
                review.append(self._refresher(s))
            self._placement(s)
        return bands[0] + bands[1] + bands[2] + review

    def _level_unit(self, s: _Skill, level: int) -> list[str]:
        rng = self.rng
        group = f"{s.key}-l{level}"
        keys = []
        for i in range(self.group_size):
            kind = "lesson" if i % 2 == 0 else "worked_example"
            suffix = ("lesson" if kind == "lesson" else "example") + (
                f"-{i // 2 + 1}" if i >= 2 else ""
            )
            keys.append(self._teaching(s, level, kind, f"{group}-{suffix}", group))
        if level >= 3 or (level == 2 and rng.random() < 0.25):
            keys.append(self._teaching(s, level, "practice", f"{group}-practice", None))
        if level == s.top or (level == 2 and s.top >= 4):
            keys.append(self._quiz(s, level))
        return keys

    def _tags(self, s: _Skill, level: int, kind: str) -> list[dict[str, Any]]:
        tags: list[dict[str, Any]] = [{"skill": s.key, "weight": 1.0, "level": level}]
        side_tag = kind in ("worked_example", "practice") and level >= 2
        if side_tag and s.prerequisites and self.rng.random() < 0.5:
            p = self.by_key[s.prerequisites[0]]
            tags.append({"skill": p.key, "weight": 0.5, "level": min(level - 1, p.top)})
        return tags

    def _base(
        self, s: _Skill, level: int, kind: str, key: str, title: str
    ) -> dict[str, Any]:
        rng = self.rng
        low, high = DURATIONS.get(kind, (1, 1))
        difficulty = DIFFICULTY[kind] + round(float(rng.uniform(-0.25, 0.25)) * 4) / 4
        if kind == "lesson":
            style = "conceptual" if rng.random() < 0.5 else "narrative"
        elif kind == "worked_example":
            style = "example" if rng.random() < 0.8 else "narrative"
        elif kind == "practice":
            style = "hands_on"
        else:
            style = "retrieval"
        self.hidden[key] = ActivityParams(style, float(rng.lognormal(0.0, 0.2)))
        return {
            "key": key,
            "title": title,
            "type": kind,
            "duration_min": int(rng.integers(low, high + 1)),
            "difficulty": max(-3.0, min(3.0, difficulty)),
            "target_level": level,
        }

    def _teaching(
        self, s: _Skill, level: int, kind: str, key: str, group: str | None
    ) -> str:
        label = {"lesson": "Lesson", "worked_example": "Worked example"}.get(
            kind, "Practice"
        )
        activity = self._base(s, level, kind, key, f"{label}: {s.name} (level {level})")
        if group is not None:
            activity["explanation_group"] = group
        activity["skills"] = self._tags(s, level, kind)
        activity["content"] = {"markdown": _markdown(kind, s.name, level)}
        self.activities.append(activity)
        return key

    def _quiz(self, s: _Skill, level: int) -> str:
        key = f"{s.key}-quiz-l{level}"
        activity = self._base(s, level, "quiz", key, f"Check: {s.name} (level {level})")
        count = int(self.rng.integers(3, 6))
        activity["skills"] = [{"skill": s.key, "weight": 1.0, "level": level}]
        activity["content"] = {
            "markdown": f"{count} quick questions on {s.name.lower()}.\n",
            "questions": [
                self._question(key, i, s, level, activity["difficulty"])
                for i in range(count)
            ],
        }
        self.activities.append(activity)
        return key

    def _refresher(self, s: _Skill) -> str:
        key = f"{s.key}-refresher"
        activity = self._base(s, s.top, "refresher", key, f"Refresher: {s.name}")
        activity["skills"] = [{"skill": s.key, "weight": 1.0, "level": s.top}]
        activity["content"] = {"markdown": _markdown("refresher", s.name, s.top)}
        self.activities.append(activity)
        return key

    def _placement(self, s: _Skill) -> None:
        levels = sorted(
            {1, 3 if s.top >= 3 else 2} | ({s.top} if s.top >= 4 else set())
        )
        for level in levels:
            key = f"place-{s.key}-{level}"
            activity = self._base(
                s,
                level,
                "placement_item",
                key,
                f"Placement check: {s.name} (level {level})",
            )
            activity["duration_min"] = 1
            activity["skills"] = [{"skill": s.key, "weight": 1.0, "level": level}]
            activity["content"] = {
                "markdown": "",
                "questions": [self._question(key, 0, s, level, 0.0)],
            }
            self.activities.append(activity)

    def _question(
        self, key: str, index: int, s: _Skill, level: int, difficulty: float
    ) -> dict[str, Any]:
        """A multiple-choice question; its real difficulty goes to the side table.

        Someone exactly at the question's level is right roughly 70-80% of the time.
        """
        rng = self.rng
        n_options = int(rng.integers(3, 6))
        b = level - 0.2 + 0.3 * difficulty + float(rng.normal(0.0, 0.3))
        self.questions[QuestionRef(key, index)] = ItemParams(
            difficulty=float(np.clip(b, 0.2, TOP_LEVEL + 0.5)),
            discrimination=float(np.clip(rng.lognormal(np.log(2.0), 0.25), 0.8, 4.0)),
            guessing=float(np.clip(rng.uniform(0.6, 1.1) / n_options, 0.05, 0.35)),
        )
        letters = "ABCDEF"
        return {
            "prompt": (
                f"{s.name}, level {level}, case {index + 1}: which response shows "
                "sound judgment?"
            ),
            "options": [
                f"{letters[i]}. Approach {letters[i]} to case {index + 1}"
                for i in range(n_options)
            ],
            "answer": int(rng.integers(n_options)),
            "explanation": "The right approach checks the evidence before acting.",
        }


def _direct_only(chosen: list[str], ancestors: dict[str, set[str]]) -> list[str]:
    """Drop duplicates and prerequisites already implied by another chosen one."""
    unique = list(dict.fromkeys(chosen))
    return [p for p in unique if not any(p in ancestors[q] for q in unique if q != p)]


def _markdown(kind: str, name: str, level: int) -> str:
    topic = name.lower()
    if kind == "lesson":
        return (
            f"Why {topic} matters at level {level}, and the mental model behind it.\n\n"
            "A realistic situation, the idea that explains it, and what changes when "
            "you apply it.\n\nThe one thing to remember next time.\n"
        )
    if kind == "worked_example":
        return (
            f"**Situation.** Sam needs {topic} for a report due Friday.\n\n"
            "**Steps.** What Sam did, in order, and why.\n\n"
            "**Takeaway.** What went right, and the mistake to avoid.\n"
        )
    if kind == "practice":
        return (
            f"**Your task (about 10 minutes).** Apply {topic} to your own work.\n\n"
            "1. Pick a real case.\n2. Apply the steps.\n3. Note what changed.\n\n"
            "**Done when** you can explain the result to a colleague.\n"
        )
    return f"A quick reminder: the checklist for {topic}.\n"
