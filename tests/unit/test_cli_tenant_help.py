"""Every ``--tenant`` help says what the option takes (a tenant, not a deployment id)."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from lti_tool.cli import main


def _tenant_commands(
    group: click.Group, prefix: tuple[str, ...] = ()
) -> list[tuple[str, ...]]:
    """The command paths that take ``--tenant``, walking every group."""
    found: list[tuple[str, ...]] = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        path = (*prefix, name)
        if isinstance(command, click.Group):
            found.extend(_tenant_commands(command, path))
        elif any("--tenant" in p.opts for p in command.params):
            found.append(path)
    return found


assert isinstance(main, click.Group)
TENANT_COMMANDS = _tenant_commands(main)


def test_the_people_commands_take_a_tenant() -> None:
    assert {("people", "import"), ("people", "list")} <= set(TENANT_COMMANDS)


@pytest.mark.parametrize("path", TENANT_COMMANDS, ids=" ".join)
def test_tenant_help_names_the_tenant_not_a_deployment_id(
    path: tuple[str, ...],
) -> None:
    result = CliRunner().invoke(main, [*path, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    option_help = " ".join(result.output.split("--tenant", 1)[1].split())
    assert "tenants list" in option_help
    assert "Deployment id" not in option_help
