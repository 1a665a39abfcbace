"""xAPI: the jobs a service asks for once its caller commits, wired at start-up.

The services cannot import ``xapi.jobs`` (the jobs import the services), so the
composition root (``lti_tool.runtime.configure_runtime``) hands in the two kicks:
deliver the outbox, and continue a learner's pull that ran out of its launch budget.
Until then a kick fails loudly rather than losing the follow-up silently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from xapi.transaction import after_commit


def _unwired_outbox() -> None:
    raise RuntimeError("xAPI kicks are not wired: call wire_kicks() at start-up")


def _unwired_pull(person_id: int) -> None:
    raise RuntimeError("xAPI kicks are not wired: call wire_kicks() at start-up")


@dataclass
class Kicks:
    """The follow-up jobs: ``deliver_outbox()`` and ``continue_pull(person_id)``."""

    deliver_outbox: Callable[[], None] = _unwired_outbox
    continue_pull: Callable[[int], None] = _unwired_pull


wired = Kicks()


def wire_kicks(
    *, deliver_outbox: Callable[[], None], continue_pull: Callable[[int], None]
) -> None:
    """Set the process-wide kicks (the composition root calls this once per process)."""
    wired.deliver_outbox = deliver_outbox
    wired.continue_pull = continue_pull


def deliver_after_commit(session: Session) -> None:
    """Kick outbox delivery once the caller's transaction commits (once per commit)."""
    after_commit(session, "xapi_outbox_kick", lambda: wired.deliver_outbox())


def continue_pull_after_commit(session: Session, person_id: int) -> None:
    """Continue a learner's pull in the background once the caller commits."""
    after_commit(
        session, f"xapi_pull_{person_id}", lambda: wired.continue_pull(person_id)
    )
