"""Pure adaptive core: the wording of a catalogue defect, shared by the check and engine.

The catalogue check tells the author, and the engine's "blocked" tells the manager,
about the same defects; one function per defect keeps the two sentences identical.
"""

from __future__ import annotations


def no_such_level(skill: str, level: int) -> str:
    """The target level is beyond the framework's scale."""
    return f"{skill}: level {level}"


def no_assessment(skill: str, level: int) -> str:
    """No check (quiz or placement item) at or above the level: "met" needs one."""
    return f"{skill} has no assessment at level {level} or above"


def no_teaching_content(skill: str, level: int) -> str:
    """Nothing teaches the skill up to the level: only learners who know it pass."""
    return f"{skill} has no teaching content up to level {level}"


def no_content_at_level(skill: str, level: int, verified_at: int) -> str:
    """The level itself has no content; the engine works at the check above it."""
    return (
        f"{skill} has no content at level {level} "
        f"(the engine teaches and checks it at level {verified_at})"
    )


def level_gap(skill: str, level: int, below: int, above: int) -> str:
    """Content at the levels around ``level`` but not at it; the engine crosses it."""
    return (
        f"{skill} has no content at level {level} "
        f"(content at levels {below} and {above}; the engine crosses the gap)"
    )


def prerequisite_without_content(prerequisite: str, skill: str) -> str:
    """A prerequisite nothing teaches or checks: the engine ignores it."""
    return (
        f"{prerequisite} (prerequisite of {skill}) has no content at any level; "
        "the engine does not wait for it"
    )


def thin_check(skill: str, level: int, questions: int) -> str:
    """Too few distinct questions at the check level for a confident "met"."""
    noun = "question" if questions == 1 else "questions"
    return (
        f"skill {skill} at level {level} is checked by only {questions} {noun} "
        "(the engine teaches the level before its check and states a lower "
        'confidence for "met")'
    )
