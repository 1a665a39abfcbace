"""Entry point: the `pathwise` command; one table lists every subcommand's module."""

from __future__ import annotations

import click

from lti_tool.cli.bootstrap import LazyGroup

# Command name -> "module:attribute"; a module is imported only when its command runs.
COMMANDS = {
    "init": "lti_tool.cli.embedded:init_command",
    "demo": "lti_tool.cli.embedded:demo_command",
    "serve": "lti_tool.cli.serve:serve_command",
    "worker": "lti_tool.cli.serve:worker_command",
    "scheduler": "lti_tool.cli.serve:scheduler_command",
    "db": "lti_tool.cli.db:db_group",
    "platform": "lti_tool.cli.platforms:platform_group",
    "keys": "lti_tool.cli.keys:keys_group",
    "admin": "lti_tool.cli.users:admin_group",
    "catalogue": "lti_tool.cli.catalogue:catalogue_group",
    "retrain": "lti_tool.cli.models:retrain_command",
    "lrs": "lti_tool.cli.lrs:lrs_group",
    "sync": "lti_tool.cli.lrs:sync_command",
    "outbox": "lti_tool.cli.lrs:outbox_group",
    "people": "lti_tool.cli.people:people_group",
    "grades": "lti_tool.cli.grades:grades_group",
    "tenants": "lti_tool.cli.tenants:tenants_group",
}


@click.group(
    cls=LazyGroup,
    lazy_commands=COMMANDS,
    help="Pathwise: adaptive learning paths inside your LMS (LTI 1.3 tool).",
)
def main() -> None:
    """Top-level command group."""
