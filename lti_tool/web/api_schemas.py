"""Web layer: the learner API's request and response schemas, declared once (pydantic).

The same classes validate requests in ``api_views`` and make the OpenAPI document.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApiError(_Strict):
    """Every 4xx of the API: a stable reason code and a sentence for the learner."""

    error: str = Field(description="Stable reason code, e.g. no_token, learner_only.")
    message: str
    details: list[dict[str, Any]] | None = None


class NextStep(_Strict):
    kind: str = Field(description="activity | refresher | done | stop | blocked")
    activity_key: str | None
    title: str
    minutes: float
    reason_code: str
    reason: str = Field(description="The reason in plain words, for the learner.")


class ModuleRef(_Strict):
    key: str
    title: str


class SkillLevel(_Strict):
    skill_id: int
    name: str
    status: str
    level: int
    level_name: str
    expected_level: float = Field(description="The model's mean level (0 = none).")
    target: int
    target_name: str
    uncertainty: float
    p_target: float
    next_refresh_at: str | None


class PathEntry(_Strict):
    skill_id: int
    name: str
    status: str
    kind: str = Field(
        description="skipped | done | refresher | alternative | locked | to_do"
    )
    reason: str = Field(description="Why, in plain words, from the learner's data.")
    evidence_source: str | None = Field(
        description="placement | attempts | xapi | manager, or none yet."
    )


class ManagerReview(_Strict):
    """A manager's active change to the path, with the note they left."""

    kind: str
    what: str
    note: str
    at: str = Field(description="The day it was made (ISO date).")


class PlannedRefresher(_Strict):
    skill_id: int
    name: str
    due: str = Field(description="ISO date of the next refresher.")
    when: str = Field(description='The same day in words, e.g. "12 January".')


class MinutesRange(_Strict):
    low: float
    high: float


class PathOut(_Strict):
    """The path page: role, skills against targets, the path ahead, minutes left."""

    module: ModuleRef
    target_role: str | None
    levels: list[str] = Field(description="The framework's level names, from 0.")
    skills: list[SkillLevel]
    path: list[PathEntry]
    next_step: NextStep
    state: str = Field(description="learning | targets_met | blocked")
    minutes_left: MinutesRange
    time_budget_min: float | None
    reviews: list[ManagerReview]
    refresher_plan: list[PlannedRefresher]
    placement_wanted: bool = Field(
        description="The module's placement check is neither done nor skipped."
    )
    registration: str = Field(description="xAPI registration of this module attempt.")


class PlacementQuestion(_Strict):
    ref: str
    type: str = Field(
        description="single (answer: an option index), multiple (a list of option "
        "indices) or short (text)."
    )
    prompt: str
    options: list[Any]


class PlacedSkill(_Strict):
    skill_id: int
    name: str
    level_name: str = Field(description="The role's level the learner showed.")


class PlacementSummary(_Strict):
    """What a finished check showed: the skills skipped and the minutes saved."""

    skipped: bool = Field(description="The learner chose to start from the beginning.")
    text: str = Field(description="The summary in plain words, for the learner.")
    placed: list[PlacedSkill]
    minutes_saved: float


class PlacementOut(_Strict):
    placement_id: int
    done: bool
    asked: int
    budget: int = Field(description="At most this many questions.")
    question: PlacementQuestion | None
    summary: PlacementSummary | None = Field(description="Set once the check is done.")


class PlacementAnswerIn(_Strict):
    client_id: uuid.UUID = Field(description="Client-generated; a retry reuses it.")
    ref: str = Field(max_length=100)
    answer: Any


class PlacementAnswerOut(PlacementOut):
    correct: bool


class Question(BaseModel):
    """A question as the player shows it (answer keys and feedback withheld)."""

    model_config = ConfigDict(extra="allow")

    prompt: str = ""
    options: list[Any] = []


class ActivityOut(_Strict):
    key: str
    title: str
    kind: str
    minutes: float
    url: str | None
    markdown: str
    questions: list[Question]


class XapiLaunchOut(_Strict):
    """Where to open an external xAPI activity, with the launch parameters in it."""

    url: str = Field(
        description="The content's URL with endpoint, auth, actor, registration and "
        "activity_id (the xAPI launch convention); open it in a new window or frame."
    )
    activity_id: str = Field(description="The activity IRI the content reports on.")
    registration: str = Field(description="xAPI registration of this module attempt.")
    expires_at: str = Field(description="When the content's LRS credential expires.")


class AttemptIn(_Strict):
    client_id: uuid.UUID = Field(description="Client-generated; a retry reuses it.")
    activity_key: str = Field(max_length=100)
    responses: list[Any] = Field(default_factory=list, max_length=200)
    minutes: float | None = Field(default=None, ge=0, le=24 * 60)


class QuestionFeedback(_Strict):
    correct: bool | None = Field(
        description="Right or not; null for a question that is not scored (a "
        "scenario the learner rated themselves against its rubric)."
    )
    feedback: str = Field(description="The author's feedback text, as Markdown.")
    feedback_html: str = Field(
        description="The same feedback rendered to sanitised HTML, safe to show."
    )


class AttemptOut(_Strict):
    attempt_id: int
    score: float | None
    success: bool | None
    feedback: list[QuestionFeedback]
    next_step: NextStep


class TimeBudgetIn(_Strict):
    minutes: int = Field(ge=1, le=240, description="e.g. 10, 20 or 45")


class TimeBudgetOut(_Strict):
    minutes: int
    next_step: NextStep


class Empty(_Strict):
    """No body needed."""
