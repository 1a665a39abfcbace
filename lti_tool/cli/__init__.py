"""Entry point: the `pathwise` command (serve, worker, demo, db, platform, keys, ...)."""

from __future__ import annotations

import click


@click.group(help="Pathwise: adaptive learning paths inside your LMS (LTI 1.3 tool).")
def main() -> None:
    """Top-level command group."""


def _register_subcommands() -> None:
    # Each package contributes its commands here; one place lists them all.
    from lti_tool.cli import core as cli_core

    cli_core.register(main)
    from lti_tool.cli import catalogue as cli_catalogue

    cli_catalogue.register(main)
    from lti_tool.cli import models as cli_models

    cli_models.register(main)
    from lti_tool.cli import lrs as cli_lrs

    cli_lrs.register(main)
    # --- further command modules register below (xapi, adaptive, catalogue) ---


_register_subcommands()
