"""The `pathwise` group: every command in the table resolves, help lists them all."""

from __future__ import annotations

import click
from click.testing import CliRunner

from lti_tool.cli import COMMANDS, main


def test_every_listed_command_resolves_to_its_click_command() -> None:
    context = click.Context(main)
    assert main.list_commands(context) == sorted(COMMANDS)
    for name in COMMANDS:
        command = main.get_command(context, name)
        assert isinstance(command, click.Command)
        assert command.name == name


def test_help_lists_every_command_with_its_summary() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0, result.output
    lines = result.output.split("Commands:")[1].splitlines()
    listed = {line.split()[0]: line for line in lines if line.strip()}
    assert set(listed) == set(COMMANDS)
    assert all(len(line.split()) > 1 for line in listed.values())
