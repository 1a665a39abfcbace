"""Test harness: Ralph's LRS on a file, run by Ralph's own venv (tests/ralph_fixture.py).

Ralph 5.1.0's file backend stores each POST with the operation ``create``, which
refuses to touch a file that exists, so only the first POST would ever be stored.
A file-backed store should append: this harness sets that one default and then
serves Ralph's unmodified app with uvicorn (without the reloader that
``ralph runserver`` starts). Everything else (validation, auth, paging, ``since``)
is Ralph's own.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import bcrypt
import uvicorn
from ralph.backends.data.base import BaseOperationType
from ralph.backends.lrs.fs import FSLRSBackend


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--auth-file", type=Path, required=True)
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    args = parser.parse_args()
    # What `ralph auth -w` writes, without its second interpreter start.
    hashed = bcrypt.hashpw(args.password.encode(), bcrypt.gensalt(rounds=4))
    user = {
        "agent": {"objectType": "Agent", "mbox": "mailto:pathwise-tests@example.org"},
        "scopes": ["all"],
        "hash": hashed.decode(),
        "username": args.username,
    }
    args.auth_file.write_text(json.dumps([user]), encoding="utf-8")
    FSLRSBackend.default_operation_type = BaseOperationType.APPEND
    uvicorn.run("ralph.api:app", host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
