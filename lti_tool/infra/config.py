"""Composition root: the one settings object, read from the environment and validated."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from cryptography.fernet import Fernet

PREFIX = "PATHWISE_"
ENVIRONMENTS = ("development", "test", "production")
# An extra origin allowed to frame learner pages: scheme, host (or *.domain), port.
_FRAME_ORIGIN = re.compile(
    r"^https?://(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:[0-9]{1,5})?$"
)


class SettingsError(ValueError):
    """Raised at start-up when the environment does not describe a runnable Pathwise."""


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _float(name: str, raw: str, *, minimum: float = 0.0) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


def _int(name: str, raw: str, *, minimum: int = 0) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def _host_list(name: str, raw: str, problems: list[str]) -> tuple[str, ...]:
    """Host names or IP addresses, comma-separated, exactly as URLs write them."""
    hosts: list[str] = []
    for entry in raw.split(","):
        host = entry.strip().lower().rstrip(".")
        if not host:
            continue
        bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        try:
            ipaddress.ip_address(bare)
        except ValueError:
            if not all(_HOST_LABEL.match(label) for label in bare.split(".")):
                problems.append(
                    f"{name} must list host names or IP addresses (no scheme, port, "
                    f"path or wildcard), got {entry.strip()!r}"
                )
                continue
        hosts.append(bare)
    return tuple(hosts)


def default_data_dir() -> Path:
    return Path.cwd() / "instance"


def embedded_secrets_path(data_dir: Path) -> Path:
    return data_dir / "secrets.json"


def ensure_embedded_secrets(data_dir: Path) -> dict[str, str]:
    """Create (once) the secret and encryption keys an embedded install keeps on disk.

    Production never uses this: it must pass the keys in the environment.
    """
    # 0700: the folder holds the secret keys and, in embedded mode, the database.
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = embedded_secrets_path(data_dir)
    if path.exists():
        stored: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
        return stored
    values = {
        "secret_key": secrets.token_urlsafe(48),
        "encryption_key": Fernet.generate_key().decode("ascii"),
    }
    path.write_text(json.dumps(values), encoding="utf-8")
    path.chmod(0o600)
    return values


@dataclass(frozen=True)
class Settings:
    """Everything Pathwise reads from its environment, parsed once and validated."""

    environment: str = "development"
    database_url: str = ""
    redis_url: str | None = None
    secret_key: str = ""
    # Comma-separated Fernet keys: the first encrypts, all decrypt (key rotation).
    encryption_keys: tuple[str, ...] = ()
    base_url: str = "http://127.0.0.1:5000"
    data_dir: Path = field(default_factory=default_data_dir)
    dev_platform_enabled: bool = False
    clock_leeway_s: float = 5.0
    launch_token_ttl_s: int = 3600
    launch_state_ttl_s: int = 600
    key_rotation_grace_days: int = 7
    lrs_pull_budget_s: float = 1.5
    # Pages one LRS sync run reads at most: a bound even for an LRS that misbehaves.
    lrs_sync_max_pages: int = 10_000
    # Seconds one AGS call (token, line items, score) may take before it is retried later.
    ags_timeout_s: float = 10.0
    # Seconds a write-back run (statements, grades) waits after the first commit
    # that asks for it, so that one run takes a whole window's commits (with Redis).
    writeback_gather_s: float = 1.0
    # Hosts outbound fetches may reach even at internal addresses (production).
    outbound_allow_hosts: tuple[str, ...] = ()
    # Dynamic Registration without an invitation, from loopback only (`pathwise demo`).
    open_local_registration: bool = False
    log_level: str = "INFO"
    # Origins besides the registered platforms' that may frame LTI pages (Canvas
    # shows tools on each school's domain, which is not its issuer's).
    frame_ancestors: tuple[str, ...] = ()
    # The largest request body accepted (an id_token post is a few KiB; 1 MiB leaves
    # room for the console's rules documents and refuses a 40 MB token unread).
    max_request_bytes: int = 1024 * 1024
    # How many reverse proxies sit in front of the web process and set X-Forwarded-For
    # / -Proto / -Host: the client address (sign-in throttling, logs) and scheme come
    # from that many hops back; 0 trusts no forwarded header at all.
    proxy_hops: int = 0
    # Extra origins an LMS may name as its deep-link return URL, beyond its own
    # issuer, auth, token and key-set origins (e.g. a Canvas vanity domain).
    deep_link_return_origins: tuple[str, ...] = ()

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def uses_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build and validate settings; raise SettingsError naming every problem."""
        env = dict(os.environ if environ is None else environ)
        problems: list[str] = []

        def get(name: str, default: str | None = None) -> str | None:
            return env.get(PREFIX + name, default)

        environment = (get("ENV", "development") or "development").strip().lower()
        if environment not in ENVIRONMENTS:
            problems.append(
                f"{PREFIX}ENV must be one of {', '.join(ENVIRONMENTS)}, got {environment!r}"
            )
        production = environment == "production"
        data_dir = Path(get("DATA_DIR") or default_data_dir())

        database_url = env.get("DATABASE_URL", "").strip()
        if not database_url:
            if production:
                problems.append("DATABASE_URL is required in production (PostgreSQL)")
            database_url = f"sqlite:///{data_dir / 'pathwise.sqlite'}"
        elif database_url.startswith("postgres://"):
            database_url = "postgresql+psycopg://" + database_url[len("postgres://") :]
        elif database_url.startswith("postgresql://"):
            database_url = (
                "postgresql+psycopg://" + database_url[len("postgresql://") :]
            )
        if production and database_url.startswith("sqlite"):
            problems.append("DATABASE_URL must point at PostgreSQL in production")

        redis_url = (env.get("REDIS_URL") or "").strip() or None
        if redis_url and not redis_url.startswith(("redis://", "rediss://", "unix://")):
            problems.append(f"REDIS_URL must start with redis://, got {redis_url!r}")
        if production and redis_url is None:
            problems.append("REDIS_URL is required in production (background jobs)")

        secret_key = get("SECRET_KEY") or ""
        raw_keys = get("ENCRYPTION_KEY") or ""
        if (not secret_key or not raw_keys) and not production:
            stored_path = embedded_secrets_path(data_dir)
            if stored_path.exists():
                stored = json.loads(stored_path.read_text(encoding="utf-8"))
                secret_key = secret_key or stored.get("secret_key", "")
                raw_keys = raw_keys or stored.get("encryption_key", "")
        if len(secret_key) < 32:
            problems.append(
                f"{PREFIX}SECRET_KEY must be set to at least 32 random characters"
                + ("" if production else " (or run `pathwise init` to create one)")
            )
        encryption_keys = tuple(k.strip() for k in raw_keys.split(",") if k.strip())
        if not encryption_keys:
            problems.append(
                f"{PREFIX}ENCRYPTION_KEY must be set (a Fernet key: "
                "`pathwise keys generate-encryption-key`)"
            )
        for key in encryption_keys:
            try:
                Fernet(key.encode("ascii"))
            except (ValueError, UnicodeEncodeError):
                problems.append(
                    f"{PREFIX}ENCRYPTION_KEY holds a value that is not a Fernet key"
                )
                break

        base_url = (get("BASE_URL") or "http://127.0.0.1:5000").rstrip("/")
        parsed = urlparse(base_url)
        if parsed.scheme not in {"http", "https"} or not parsed.netloc:
            problems.append(
                f"{PREFIX}BASE_URL must be an absolute http(s) URL, got {base_url!r}"
            )
        elif production and parsed.scheme != "https":
            problems.append(
                f"{PREFIX}BASE_URL must use https in production (LMS iframes need it)"
            )

        dev_platform = _bool(PREFIX + "DEV_PLATFORM", get("DEV_PLATFORM", "0") or "0")
        if production and dev_platform:
            problems.append(f"{PREFIX}DEV_PLATFORM is refused in production")

        frame_ancestors = tuple(
            o.strip().rstrip("/")
            for o in (get("FRAME_ANCESTORS") or "").split(",")
            if o.strip()
        )
        for origin in frame_ancestors:
            if not _FRAME_ORIGIN.match(origin):
                problems.append(
                    f"{PREFIX}FRAME_ANCESTORS holds {origin!r}, not an origin such as "
                    "https://lms.example.edu or https://*.instructure.com"
                )
            elif production and not origin.startswith("https://"):
                problems.append(f"{PREFIX}FRAME_ANCESTORS must use https in production")
        return_origins: list[str] = []
        for raw_origin in (get("DEEP_LINK_RETURN_ORIGINS") or "").split(","):
            origin = raw_origin.strip().rstrip("/")
            if not origin:
                continue
            parsed_origin = urlparse(origin)
            if (
                parsed_origin.scheme not in {"http", "https"}
                or not parsed_origin.netloc
                or parsed_origin.path
                or parsed_origin.query
            ):
                problems.append(
                    f"{PREFIX}DEEP_LINK_RETURN_ORIGINS must list origins such as "
                    f"https://canvas.example.edu, got {raw_origin.strip()!r}"
                )
            elif production and parsed_origin.scheme != "https":
                problems.append(
                    f"{PREFIX}DEEP_LINK_RETURN_ORIGINS must use https in production"
                )
            else:
                return_origins.append(origin.lower())
        open_registration = _bool(
            PREFIX + "DR_WITHOUT_INVITATION", get("DR_WITHOUT_INVITATION", "0") or "0"
        )
        if production and open_registration:
            problems.append(f"{PREFIX}DR_WITHOUT_INVITATION is refused in production")
        allow_hosts = _host_list(
            PREFIX + "OUTBOUND_ALLOW_HOSTS",
            get("OUTBOUND_ALLOW_HOSTS", "") or "",
            problems,
        )

        try:
            settings = cls(
                environment=environment,
                database_url=database_url,
                redis_url=redis_url,
                secret_key=secret_key,
                encryption_keys=encryption_keys,
                base_url=base_url,
                data_dir=data_dir,
                dev_platform_enabled=dev_platform,
                clock_leeway_s=_float(
                    PREFIX + "CLOCK_LEEWAY", get("CLOCK_LEEWAY", "5") or "5"
                ),
                launch_token_ttl_s=_int(
                    PREFIX + "LAUNCH_TOKEN_TTL",
                    get("LAUNCH_TOKEN_TTL", "3600") or "3600",
                    minimum=60,
                ),
                launch_state_ttl_s=_int(
                    PREFIX + "LAUNCH_STATE_TTL",
                    get("LAUNCH_STATE_TTL", "600") or "600",
                    minimum=30,
                ),
                key_rotation_grace_days=_int(
                    PREFIX + "KEY_GRACE_DAYS", get("KEY_GRACE_DAYS", "7") or "7"
                ),
                lrs_pull_budget_s=_float(
                    PREFIX + "LRS_PULL_BUDGET", get("LRS_PULL_BUDGET", "1.5") or "1.5"
                ),
                lrs_sync_max_pages=_int(
                    PREFIX + "LRS_SYNC_MAX_PAGES",
                    get("LRS_SYNC_MAX_PAGES", "10000") or "10000",
                    minimum=1,
                ),
                ags_timeout_s=_float(
                    PREFIX + "AGS_TIMEOUT",
                    get("AGS_TIMEOUT", "10") or "10",
                    minimum=0.1,
                ),
                writeback_gather_s=_float(
                    PREFIX + "WRITEBACK_GATHER",
                    get("WRITEBACK_GATHER", "1") or "1",
                ),
                outbound_allow_hosts=allow_hosts,
                open_local_registration=open_registration,
                log_level=(get("LOG_LEVEL", "INFO") or "INFO").upper(),
                frame_ancestors=frame_ancestors,
                proxy_hops=_int(
                    PREFIX + "PROXY_HOPS", get("PROXY_HOPS", "0") or "0", minimum=0
                ),
                max_request_bytes=_int(
                    PREFIX + "MAX_REQUEST_BYTES",
                    get("MAX_REQUEST_BYTES", "1048576") or "1048576",
                    minimum=64 * 1024,
                ),
                deep_link_return_origins=tuple(return_origins),
            )
        except SettingsError as exc:
            problems.append(str(exc))
            settings = cls()
        if problems:
            raise SettingsError(
                "Pathwise cannot start:\n" + "\n".join(f"  - {p}" for p in problems)
            )
        return settings
