"""The embedded database's file and folder are private to the user running Pathwise."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from lti_tool.infra.db import make_engine


def test_a_new_sqlite_database_is_created_0600_in_a_0700_folder(
    tmp_path: Path,
) -> None:
    path = tmp_path / "instance" / "pathwise.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            conn.execute(text("create table t (x integer)"))
            conn.execute(text("insert into t values (1)"))
            wal = Path(str(path) + "-wal")
            assert wal.exists()
            assert wal.stat().st_mode & 0o777 == 0o600
    finally:
        engine.dispose()

    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700


def test_an_existing_database_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "pathwise.sqlite"
    path.touch(mode=0o640)
    path.chmod(0o640)
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        conn.execute(text("select 1"))
    engine.dispose()

    assert path.stat().st_mode & 0o777 == 0o640


def test_in_memory_databases_touch_no_file(tmp_path: Path) -> None:
    engine = make_engine("sqlite://")
    with engine.connect() as conn:
        assert conn.execute(text("select 1")).scalar() == 1
    engine.dispose()
