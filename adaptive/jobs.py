"""Jobs: background retraining of the learner model (enqueued on QUEUE_MODELS)."""

from __future__ import annotations

from typing import Any

from adaptive.item_training import fit_item_params
from adaptive.training import fit_skill_params, tenants_with_evidence
from lti_tool.infra.db import session_scope


def retrain_model(tenant_id: int | None = None) -> list[dict[str, Any]]:
    """Refit per-skill and per-question parameters for one tenant, or for every
    tenant with evidence (each summary has the per-question fit under ``items``).

    Idempotent: each run replaces the tenant's fitted rows. One transaction per
    tenant, so a failure in one tenant does not roll back the others.
    """
    if tenant_id is None:
        with session_scope() as session:
            tenants = tenants_with_evidence(session)
    else:
        tenants = [tenant_id]
    summaries = []
    for tenant in tenants:
        with session_scope() as session:
            summary = fit_skill_params(session, tenant_id=tenant).to_dict()
            summary["items"] = fit_item_params(session, tenant_id=tenant).to_dict()
            summaries.append(summary)
    return summaries


def retrain_all_models() -> list[dict[str, Any]]:
    """The nightly job: every tenant."""
    return retrain_model(None)
