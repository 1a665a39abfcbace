"""Test support: the suite's environment (Settings for a test, required services, an empty database).

Fixtures in ``conftest.py`` and helpers in other support modules import these; nothing
here imports a conftest or a test module, so the dependency points one way.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, text

from lti_tool.infra.config import Settings
from lti_tool.schema import full_metadata

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
# A dedicated Redis DB index, flushed by the tests (rq's own tests do the same).
DEFAULT_TEST_REDIS_URL = "redis://127.0.0.1:6379/13"
DEFAULT_TEST_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def require_service(name: str, reason: str) -> None:
    """Skip locally, fail in CI: service-backed tests must never silently vanish there."""
    if IN_CI:
        pytest.fail(f"{name} is required in CI: {reason}")
    pytest.skip(f"{name} not available: {reason}")


def make_test_settings(tmp_path: Path, **overrides: object) -> Settings:
    base = Settings(
        environment="test",
        database_url=f"sqlite:///{tmp_path / 'pathwise.sqlite'}",
        redis_url=None,
        secret_key="test-secret-key-" + "x" * 32,
        encryption_keys=(Fernet.generate_key().decode(),),
        base_url="http://127.0.0.1:5000",
        data_dir=tmp_path,
        dev_platform_enabled=False,
        # Tests look at the queue right after a commit (the gathered, scheduled
        # kick has its own test in tests/integration/test_xapi_outbox.py).
        writeback_gather_s=0.0,
    )
    return base.with_overrides(**overrides)


def truncate_all(eng: Engine) -> None:
    with eng.begin() as conn:
        if eng.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in full_metadata().sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(full_metadata().sorted_tables):
                conn.execute(table.delete())


def settings_env_names() -> set[str]:
    """Every environment variable Settings.from_env reads, from its source code."""
    source = ROOT / "lti_tool" / "infra" / "config.py"
    tree = ast.parse(source.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and node.args):
            continue
        first = node.args[0]
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id == "get":
            names.add("PATHWISE_" + first.value)
        elif (
            isinstance(func, ast.Attribute)
            and func.attr == "get"
            and isinstance(func.value, ast.Name)
            and func.value.id == "env"
        ):
            names.add(first.value)
    return names
