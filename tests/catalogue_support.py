"""Test support: a minimal valid catalogue document and its JSON text."""

from __future__ import annotations

import json
from typing import Any


def minimal() -> dict[str, Any]:
    return {
        "format": "pathwise-catalogue",
        "version": 1,
        "framework": {
            "key": "fw",
            "name": "Framework",
            "description": "",
            "scale": ["Not yet", "Aware", "Guided", "Independent"],
        },
        "skills": [
            {"key": "alpha", "name": "Alpha", "prerequisites": []},
            {"key": "beta", "name": "Beta", "prerequisites": ["alpha"]},
            {"key": "gamma", "name": "Gamma", "prerequisites": ["beta"]},
        ],
        "roles": [
            {
                "key": "ic",
                "name": "Individual contributor",
                "horizon_days": 30,
                "targets": {"alpha": 2, "beta": 1},
            }
        ],
        "activities": [
            {
                "key": "alpha-lesson",
                "title": "Alpha lesson",
                "type": "lesson",
                "duration_min": 5,
                "explanation_group": "alpha-intro",
                "skills": [{"skill": "alpha", "weight": 1, "level": 1}],
                "content": {"markdown": "Alpha explained."},
            },
            {
                "key": "alpha-example",
                "title": "Alpha example",
                "type": "worked_example",
                "duration_min": 7.5,
                "difficulty": -0.25,
                "explanation_group": "alpha-intro",
                "skills": [
                    {"skill": "alpha", "weight": 1, "level": 2},
                    {"skill": "beta", "weight": 0.5, "level": 1},
                ],
                "content": {"markdown": "Alpha, worked."},
            },
            {
                "key": "alpha-quiz",
                "title": "Alpha quiz",
                "type": "quiz",
                "duration_min": 4,
                "skills": [{"skill": "alpha", "weight": 1, "level": 2}],
                "content": {
                    "markdown": "",
                    "questions": [
                        {
                            "prompt": "Which?",
                            "options": ["This", "That"],
                            "answer": 1,
                            "explanation": "Because.",
                        }
                    ],
                },
            },
        ],
        "modules": [
            {
                "key": "mod",
                "title": "Module",
                "default_role": "ic",
                "activities": ["alpha-lesson", "alpha-example", "alpha-quiz"],
            }
        ],
    }


def dump(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2)
