"""Web layer: the learner's placement and path pages, rendered from the API's use cases.

Each page renders server-side from the same ``lti_tool.learner_journey`` function its
API route serves, and reads only; the learner's actions (answer, skip, time budget)
go through ``/api/v1`` from the page's static script.
"""

from __future__ import annotations

from typing import Any

from flask import render_template

from adaptive.placement_sessions import placement_wanted
from lti_tool.infra.db import utcnow
from lti_tool.learner_journey.path import learner_path, time_budget
from lti_tool.learner_journey.placement import placement_page
from lti_tool.lti.launch_token import LaunchContext
from lti_tool.web.pages import LaunchView
from lti_tool.web.skill_charts import skill_chart
from lti_tool.web.transaction import request_session, request_store

# The time budgets a learner can pick on the path page.
BUDGET_CHOICES = (10, 20, 45)


def render_landing(
    ctx: LaunchContext,
    token: str,
    view: LaunchView,
    *,
    decided: dict[str, Any] | None = None,
) -> str:
    """Where a learner lands: the placement check while it is still to do, else the path.

    ``decided``: the next step the launch has just recorded (no second decision).
    """
    if view.module_id is None:
        return render_template("learner_home.html", view=view, lt=token)
    if placement_wanted(
        request_session(),
        tenant_id=ctx.tenant_id,
        person_id=ctx.person_id,
        module_id=view.module_id,
    ):
        return render_placement(ctx, view, token=token)
    return render_path(ctx, view, token=token, decided=decided)


def render_placement(ctx: LaunchContext, view: LaunchView, *, token: str) -> str:
    data = placement_page(request_session(), ctx, now=utcnow())
    return render_template("learner_placement.html", view=view, lt=token, p=data)


def render_path(
    ctx: LaunchContext,
    view: LaunchView,
    *,
    token: str,
    decided: dict[str, Any] | None = None,
) -> str:
    budget = time_budget(request_store(), ctx)
    data = learner_path(
        request_session(),
        ctx,
        now=utcnow(),
        time_budget_min=budget,
        # The launch decided without a budget; a set budget needs its own step.
        decided=decided if budget is None else None,
    )
    charts = {
        s["skill_id"]: skill_chart(s, levels=data["levels"]) for s in data["skills"]
    }
    return render_template(
        "learner_path.html",
        view=view,
        lt=token,
        p=data,
        charts=charts,
        budgets=BUDGET_CHOICES,
    )
