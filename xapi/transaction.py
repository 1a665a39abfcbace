"""xAPI: how services leave the transaction to their entry point (checkpoints, hooks).

Services flush but never commit: long operations take a ``checkpoint`` callable that
the entry point (job, CLI) sets to ``session.commit`` so progress survives an outage,
and follow-up work waits for the caller's commit.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

Checkpoint = Callable[[], None]


def no_checkpoint() -> None:
    """Default checkpoint: leave the transaction to the caller."""


def after_commit(session: Session, flag: str, action: Callable[[], None]) -> None:
    """Run ``action`` once after the caller's transaction commits (never on rollback).

    Jobs enqueued before the commit could run before their rows are visible, or, in
    embedded mode (inline jobs), wait on the caller's own SQLite write lock.
    """
    if session.info.get(flag):
        return
    session.info[flag] = True

    def _committed(committed: Session) -> None:
        committed.info.pop(flag, None)
        event.remove(session, "after_rollback", _rolled_back)
        action()

    def _rolled_back(rolled_back: Session) -> None:
        rolled_back.info.pop(flag, None)
        event.remove(session, "after_commit", _committed)

    event.listen(session, "after_commit", _committed, once=True)
    event.listen(session, "after_rollback", _rolled_back, once=True)
