"""`pathwise keys reencrypt`: every secret moves to the first encryption key, or none does."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_tool.infra import crypto
from lti_tool.infra.models import ToolKey
from lti_tool.lti.keys import create_signing_key, current_signing_key
from lti_tool.usecases.secrets import reencrypt_secrets
from tests.factories import make_lrs_connection, make_tenant


@pytest.fixture
def restore_secret_box() -> Iterator[None]:
    saved = crypto._box
    yield
    crypto._box = saved


def test_every_secret_is_readable_with_the_new_key_alone(
    db_session: Session, restore_secret_box: None
) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    crypto.configure_secrets((old,))
    original_pem = current_signing_key(db_session).private_pem
    create_signing_key(db_session)  # a second key: every row is handled
    connection = make_lrs_connection(db_session, make_tenant(db_session))

    crypto.configure_secrets((new, old))
    seen: list[tuple[str, int, int]] = []
    report = reencrypt_secrets(
        db_session, progress=lambda what, done, total: seen.append((what, done, total))
    )
    assert report.signing_keys >= 2 and report.lrs_secrets == 1
    assert seen[-1] == ("LRS secrets", 1, 1)

    crypto.configure_secrets((new,))
    assert connection.password() == "lrs-password"
    assert current_signing_key(db_session).private_pem != original_pem  # the newest key
    for key in db_session.scalars(select(ToolKey)):
        Fernet(new.encode()).decrypt(key.private_key_encrypted.encode())


def test_a_secret_no_key_can_read_stops_everything(
    db_session: Session, restore_secret_box: None
) -> None:
    lost, kept = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    crypto.configure_secrets((lost,))
    connection = make_lrs_connection(db_session, make_tenant(db_session))
    crypto.configure_secrets((kept,))
    create_signing_key(db_session)
    with pytest.raises(
        ValueError, match="LRS connection 'Company LRS' cannot be decrypted"
    ):
        reencrypt_secrets(db_session)
    assert connection.secret_encrypted  # untouched; the caller's transaction rolls back


def test_the_command_reports_and_audits(tmp_path: Path) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    env = {
        **os.environ,
        "PATHWISE_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'p.sqlite'}",
        "REDIS_URL": "",
        "PATHWISE_SECRET_KEY": "s" * 40,
        "PATHWISE_ENCRYPTION_KEY": old,
        "PATHWISE_BASE_URL": "http://127.0.0.1:5000",
        "PATHWISE_DATA_DIR": str(tmp_path),
    }
    cli = [str(Path(sys.executable).parent / "pathwise")]
    subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True)
    env["PATHWISE_ENCRYPTION_KEY"] = f"{new},{old}"
    result = subprocess.run(
        [*cli, "keys", "reencrypt"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "Re-encrypted 1 signing keys and 0 LRS secrets" in result.stdout
    env["PATHWISE_ENCRYPTION_KEY"] = new  # the old key is gone: the tool still signs
    check = subprocess.run(
        [
            sys.executable,
            "-c",
            "from lti_tool.cli.bootstrap import start_runtime\n"
            "from lti_tool.infra.db import session_scope\n"
            "from lti_tool.lti.keys import current_signing_key\n"
            "start_runtime()\n"
            "with session_scope() as s: print(current_signing_key(s).kid)\n",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr
    with sqlite3.connect(tmp_path / "p.sqlite") as conn:
        actions = [row[0] for row in conn.execute("SELECT action FROM audit_log")]
    assert "keys.reencrypted" in actions
