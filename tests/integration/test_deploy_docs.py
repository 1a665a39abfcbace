"""The install and operations docs stay true to the code: settings, commands, URLs, reason codes."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import click
from flask import Flask
from flask.testing import FlaskClient

from lti_tool.cli import main
from tests.support_env import settings_env_names

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
OPERATIONS = DOCS / "operations.md"
GUIDES = [DOCS / "install" / f"{name}.md" for name in ("moodle", "canvas", "workday")]
LTI = ROOT / "lti_tool" / "lti"
# The login and launch checks, wherever lti_tool/lti keeps them.
LAUNCH_FUNCTIONS = {
    "begin_login",
    "validate_launch",
    "_launch_tenant",
    "consume_nonce",
    "consume_state",
    "validate_message_claims",
    "_check_message_links",
    "check_stored_claims",
    "check_target_link_uri",
    "check_return_url",
    "decode_segment",
}
STABLE_URLS = [
    "/lti/login",
    "/lti/launch",
    "/lti/jwks",
    "/lti/register",
    "/lti/canvas.json",
]


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def rejection_codes(path: Path, functions: set[str] | None = None) -> set[str]:
    """Reason codes of every ``LaunchRejected("code", ...)`` in a module or folder (or some functions)."""
    paths = sorted(path.glob("*.py")) if path.is_dir() else [path]
    trees = [ast.parse(read(p)) for p in paths]
    scopes: list[ast.AST] = list(trees)
    if functions is not None:
        scopes = [
            node
            for tree in trees
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef) and node.name in functions
        ]
    codes: set[str] = set()
    for scope in scopes:
        for node in ast.walk(scope):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "LaunchRejected"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                codes.add(node.args[0].value)
    return codes


def command_paths(group: click.Group, prefix: str = "pathwise") -> list[str]:
    # list_commands/get_command, not .commands: the top group loads its commands lazily.
    context = click.Context(group)
    paths = []
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None, name
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            paths.extend(command_paths(command, path))
        else:
            paths.append(path)
    return paths


def launch_codes() -> set[str]:
    """Reason codes the launch itself raises, wherever in lti_tool it lives."""
    codes: set[str] = set()
    for module in (ROOT / "lti_tool").rglob("*.py"):
        codes |= rejection_codes(module, LAUNCH_FUNCTIONS)
    return codes


def test_launch_reason_codes_are_found() -> None:
    codes = launch_codes()
    assert {"unknown_issuer", "bad_signature", "replayed_nonce", "bad_state"} <= codes


def test_operations_documents_every_setting() -> None:
    text = read(OPERATIONS)
    missing = {name for name in settings_env_names() if f"`{name}`" not in text}
    assert not missing, f"docs/operations.md does not document {sorted(missing)}"


def test_operations_documents_every_command() -> None:
    text = read(OPERATIONS)
    missing = [path for path in command_paths(main) if f"`{path}" not in text]
    assert not missing, f"docs/operations.md does not document {missing}"


def test_operations_lists_every_reason_code() -> None:
    text = read(OPERATIONS)
    codes: set[str] = set()
    for module in (ROOT / "lti_tool").rglob("*.py"):
        codes |= rejection_codes(module)
    missing = {code for code in codes if f"| `{code}` |" not in text}
    assert not missing, f"docs/operations.md lacks reason codes {sorted(missing)}"


def test_every_install_guide_troubleshoots_every_launch_code() -> None:
    codes = launch_codes()
    for guide in GUIDES:
        section = read(guide).split("## Troubleshooting", 1)
        assert len(section) == 2, f"{guide.name} has no Troubleshooting section"
        missing = {code for code in codes if f"`{code}`" not in section[1]}
        assert not missing, f"{guide.name} troubleshooting lacks {sorted(missing)}"


def test_every_install_guide_has_a_check_and_the_stable_urls() -> None:
    for guide in GUIDES:
        text = read(guide)
        assert "## Check it works" in text, guide.name
        assert "/lti/launch" in text and "/lti/login" in text and "/lti/jwks" in text


def test_documented_urls_are_served(app: Flask, client: FlaskClient) -> None:
    routes = {rule.rule for rule in app.url_map.iter_rules()}
    index = read(DOCS / "README.md")
    for url in STABLE_URLS:
        assert url in routes
        assert f"`{url}`" in index
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_canvas_guide_matches_the_served_developer_key(client: FlaskClient) -> None:
    config = client.get("/lti/canvas.json").get_json()
    guide = read(DOCS / "install" / "canvas.md")
    extension = config["extensions"][0]
    assert f"privacy level `{extension['privacy_level']}`" in guide
    for placement in extension["settings"]["placements"]:
        assert f"`{placement['placement']}`" in guide
    for field in ("oidc_initiation_url", "target_link_uri", "public_jwk_url"):
        path = "/" + config[field].split("/", 3)[3]
        assert path in guide


def test_relative_links_and_anchors_resolve() -> None:
    def slug(heading: str) -> str:
        text = re.sub(r"[^\w\s-]", "", heading.strip().lower())
        return re.sub(r"\s", "-", text)

    for page in [*DOCS.rglob("*.md")]:
        for target in re.findall(r"\]\(([^)\s]+)\)", read(page)):
            if "://" in target or target.startswith("mailto:"):
                continue
            path_part, _, anchor = target.partition("#")
            linked = (page.parent / path_part).resolve() if path_part else page
            assert linked.exists(), f"{page.name}: broken link {target}"
            if anchor:
                headings = re.findall(r"^#+ (.+)$", read(linked), flags=re.MULTILINE)
                assert anchor in {slug(h) for h in headings}, (
                    f"{page.name}: no #{anchor}"
                )
