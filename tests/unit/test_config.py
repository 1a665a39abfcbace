"""Settings are parsed strictly and fail fast with every problem named."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from lti_tool.infra.config import Settings, SettingsError, ensure_embedded_secrets

KEY = Fernet.generate_key().decode()


def test_embedded_defaults_use_sqlite_and_inline_jobs(tmp_path: Path) -> None:
    ensure_embedded_secrets(tmp_path)
    settings = Settings.from_env({"PATHWISE_DATA_DIR": str(tmp_path)})
    assert settings.database_url.startswith("sqlite:///")
    assert settings.redis_url is None
    assert not settings.is_production


def test_production_requires_postgres_redis_keys_and_https(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as err:
        Settings.from_env(
            {"PATHWISE_ENV": "production", "PATHWISE_DATA_DIR": str(tmp_path)}
        )
    text = str(err.value)
    for expected in (
        "DATABASE_URL",
        "REDIS_URL",
        "SECRET_KEY",
        "ENCRYPTION_KEY",
        "https",
    ):
        assert expected in text


def test_production_from_environment_alone() -> None:
    settings = Settings.from_env(
        {
            "PATHWISE_ENV": "production",
            "DATABASE_URL": "postgresql://u@db/pathwise",
            "REDIS_URL": "redis://redis:6379/0",
            "PATHWISE_SECRET_KEY": "s" * 40,
            "PATHWISE_ENCRYPTION_KEY": KEY,
            "PATHWISE_BASE_URL": "https://pathwise.example.com/",
        }
    )
    assert settings.database_url == "postgresql+psycopg://u@db/pathwise"
    assert settings.base_url == "https://pathwise.example.com"
    assert settings.redis_url is not None


def test_dev_platform_is_refused_in_production() -> None:
    with pytest.raises(SettingsError, match="DEV_PLATFORM is refused"):
        Settings.from_env(
            {
                "PATHWISE_ENV": "production",
                "DATABASE_URL": "postgresql://u@db/p",
                "REDIS_URL": "redis://r",
                "PATHWISE_SECRET_KEY": "s" * 40,
                "PATHWISE_ENCRYPTION_KEY": KEY,
                "PATHWISE_BASE_URL": "https://p.example.com",
                "PATHWISE_DEV_PLATFORM": "1",
            }
        )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PATHWISE_CLOCK_LEEWAY", "soon", "must be a number"),
        ("PATHWISE_LAUNCH_TOKEN_TTL", "5", "at least 60"),
        ("PATHWISE_DEV_PLATFORM", "maybe", "true or false"),
        ("PATHWISE_ENCRYPTION_KEY", "not-a-key", "not a Fernet key"),
        ("REDIS_URL", "localhost:6379", "must start with redis://"),
        ("PATHWISE_MAX_REQUEST_BYTES", "1000", "at least 65536"),
        ("PATHWISE_MAX_REQUEST_BYTES", "lots", "whole number"),
        ("PATHWISE_DEEP_LINK_RETURN_ORIGINS", "canvas.example.edu", "must list"),
        (
            "PATHWISE_DEEP_LINK_RETURN_ORIGINS",
            "https://canvas.example.edu/courses",
            "must list",
        ),
    ],
)
def test_bad_values_are_named(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    env = {
        "PATHWISE_DATA_DIR": str(tmp_path),
        "PATHWISE_SECRET_KEY": "s" * 40,
        "PATHWISE_ENCRYPTION_KEY": KEY,
        name: value,
    }
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_embedded_secrets_are_created_once(tmp_path: Path) -> None:
    first = ensure_embedded_secrets(tmp_path)
    second = ensure_embedded_secrets(tmp_path)
    assert first == second
    assert (tmp_path / "secrets.json").stat().st_mode & 0o077 == 0


def test_request_limit_and_return_origins_are_read(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "PATHWISE_DATA_DIR": str(tmp_path),
            "PATHWISE_SECRET_KEY": "s" * 40,
            "PATHWISE_ENCRYPTION_KEY": KEY,
            "PATHWISE_MAX_REQUEST_BYTES": "2097152",
            "PATHWISE_DEEP_LINK_RETURN_ORIGINS": (
                " https://Canvas.Example.edu/ , https://lms.example.org:8443"
            ),
        }
    )
    assert settings.max_request_bytes == 2 * 1024 * 1024
    assert settings.deep_link_return_origins == (
        "https://canvas.example.edu",
        "https://lms.example.org:8443",
    )


def test_defaults_limit_requests_to_one_mebibyte(tmp_path: Path) -> None:
    ensure_embedded_secrets(tmp_path)
    settings = Settings.from_env({"PATHWISE_DATA_DIR": str(tmp_path)})
    assert settings.max_request_bytes == 1024 * 1024
    assert settings.deep_link_return_origins == ()


def test_embedded_data_folder_is_created_private(tmp_path: Path) -> None:
    ensure_embedded_secrets(tmp_path / "instance")
    assert (tmp_path / "instance").stat().st_mode & 0o777 == 0o700
