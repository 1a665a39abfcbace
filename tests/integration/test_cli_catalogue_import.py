"""`pathwise catalogue import|check` against the test database."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sqlalchemy import Engine

from adaptive.demo_seed import demo_catalogue_text
from lti_tool.infra.config import Settings
from tests.admin_support import run_cli
from tests.support_env import truncate_all


def test_dry_run_names_the_framework_key_and_only_the_id_the_import_creates(
    tmp_path: Path, settings: Settings, engine: Engine
) -> None:
    data = json.loads(demo_catalogue_text())
    data["framework"]["key"] = "dry-run-fw"
    catalogue = tmp_path / "demo.json"
    catalogue.write_text(json.dumps(data, indent=2), encoding="utf-8")
    try:
        first = run_cli(
            settings, engine, ["catalogue", "import", "--dry-run", str(catalogue)]
        )
        assert first.exit_code == 0, first.output
        last = first.output.splitlines()[-1]
        assert "framework 'dry-run-fw' would be created" in last
        assert not re.search(r"id \d", last)

        real = run_cli(settings, engine, ["catalogue", "import", str(catalogue)])
        assert real.exit_code == 0, real.output
        match = re.search(
            r"Imported framework 'dry-run-fw' \(framework id (\d+);", real.output
        )
        assert match is not None, real.output

        again = run_cli(
            settings, engine, ["catalogue", "import", "--dry-run", str(catalogue)]
        )
        assert again.exit_code == 0, again.output
        assert (
            f"framework 'dry-run-fw', id {match.group(1)}, would be updated"
            in again.output
        )

        stored = run_cli(
            settings, engine, ["catalogue", "check", "--framework", "dry-run-fw"]
        )
        assert stored.exit_code == 0, stored.output
        assert "every role target can be reached" in stored.output
    finally:
        truncate_all(engine)
