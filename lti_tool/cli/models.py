"""Entry point commands: `pathwise retrain` refits the learner model's parameters."""

from __future__ import annotations

import click

from adaptive.jobs import retrain_model
from adaptive.training import tenants_with_evidence
from lti_tool.cli.bootstrap import start_runtime, tenant_option
from lti_tool.infra.db import session_scope


@click.command("retrain")
@tenant_option(help="Refit only this tenant (default: every tenant with evidence).")
def retrain_command(tenant_id: int | None) -> None:
    """Fit per-skill BKT and per-question parameters from each tenant's own data."""
    start_runtime()
    if tenant_id is None:
        with session_scope() as session:
            tenants = tenants_with_evidence(session)
    else:
        tenants = [tenant_id]
    if not tenants:
        click.echo("No evidence yet: every skill keeps the default parameters.")
        return
    for number, tenant in enumerate(tenants, start=1):
        click.echo(f"[{number}/{len(tenants)}] tenant {tenant}: fitting...")
        (summary,) = retrain_model(tenant)
        items = summary["items"]
        click.echo(
            f"  questions: {items['n_fitted']} of {items['n_questions']} fitted from "
            f"{items['n_answers']} answers (a question needs {items['min_answers']})"
        )
        if not summary["fitted"]:
            click.echo(f"  skipped: {summary['reason']}")
            continue
        auc = summary["auc_in_sample"]
        click.echo(
            f"  {summary['n_skills']} skills from {summary['n_observations']} "
            f"responses by {summary['n_learners']} learners in "
            f"{summary['seconds']:.2f} s (in-sample AUC "
            f"{'n/a' if auc is None else f'{auc:.3f}'})"
        )
    click.echo("Done.")
