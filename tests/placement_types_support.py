"""A catalogue whose placement check asks one multiple-choice and one short-answer
question: shared by the API-level test (tests/integration/test_placement_question_types.py)
and the browser one (tests/e2e/test_placement_browser.py). Its keys start with ``pt-``,
so it can sit beside the demo catalogue.
"""

from __future__ import annotations

import json
from typing import Any

MODULE_KEY = "placement-types-module"
SEVERAL_PROMPT = "Which two are prime?"
SEVERAL_OPTIONS = ["4", "5", "7", "9"]
SEVERAL_ANSWER = [1, 2]
SHORT_PROMPT = "Two plus two?"


def _item(key: str, level: int, question: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": key,
        "title": key,
        "type": "placement_item",
        "duration_min": 1,
        "skills": [{"skill": "pt-a", "weight": 1, "level": level}],
        "content": {"questions": [{"explanation": ".", **question}]},
    }


def placement_types_catalogue() -> str:
    """The catalogue document (JSON): two placement items, a quiz and a lesson."""
    skills = [{"skill": "pt-a", "weight": 1, "level": 2}]
    quiz = {
        "key": "pt-quiz",
        "title": "A quiz",
        "type": "quiz",
        "duration_min": 4,
        "skills": skills,
        "content": {
            "questions": [
                {
                    "prompt": f"{i}?",
                    "options": ["x", "y"],
                    "answer": 0,
                    "explanation": ".",
                }
                for i in range(3)
            ]
        },
    }
    lesson = {
        "key": "pt-lesson",
        "title": "A lesson",
        "type": "lesson",
        "duration_min": 5,
        "skills": skills,
        "content": {"markdown": "A."},
    }
    several = _item(
        "pt-place-1",
        1,
        {
            "type": "multiple",
            "prompt": SEVERAL_PROMPT,
            "options": SEVERAL_OPTIONS,
            "answer": SEVERAL_ANSWER,
        },
    )
    short = _item(
        "pt-place-2",
        2,
        {"type": "short", "prompt": SHORT_PROMPT, "answer": "4", "accepted": ["four"]},
    )
    activities = [lesson, quiz, several, short]
    return json.dumps(
        {
            "format": "pathwise-catalogue",
            "version": 1,
            "framework": {
                "key": "placement-types",
                "name": "Placement types",
                "scale": ["No", "A", "B"],
            },
            "skills": [{"key": "pt-a", "name": "Arithmetic", "prerequisites": []}],
            "roles": [{"key": "pt-r", "name": "R", "targets": {"pt-a": 2}}],
            "activities": activities,
            "modules": [
                {
                    "key": MODULE_KEY,
                    "title": "Placement types",
                    "default_role": "pt-r",
                    "placement_budget": 2,
                    "activities": [a["key"] for a in activities],
                }
            ],
        }
    )
