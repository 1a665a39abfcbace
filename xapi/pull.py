"""xAPI: the launch-time pull of one learner's own statements, within a time budget."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import delete
from sqlalchemy.orm import Session

from lti_tool.infra.db import utcnow
from lti_tool.infra.models import Person
from xapi import kicks
from xapi.client import BudgetExceeded, LrsClient, LrsError, StatementQuery
from xapi.connections import ClientFactory, client_for
from xapi.core import actors
from xapi.evidence import EvidenceProcessor
from xapi.identity import active_connections, person_actor_keys
from xapi.models import LearnerCursor, LrsConnection, UnmatchedActor
from xapi.paging import SeenWindow
from xapi.transaction import Checkpoint, no_checkpoint

log = logging.getLogger(__name__)


@dataclass
class PullReport:
    complete: bool
    counters: Counter[str] = field(default_factory=Counter)
    connections: int = 0


def pull_learner_statements(
    session: Session,
    *,
    person_id: int,
    budget_s: float,
    client_factory: ClientFactory | None = None,
    checkpoint: Checkpoint = no_checkpoint,
    clock: Callable[[], float] = time.monotonic,
) -> PullReport:
    """At launch, pull the person's own new statements within ``budget_s`` seconds.

    Statements of someone not yet known were only counted by the background sync
    (``UnmatchedActor``); this pull reads their history by agent, so they become
    evidence at first launch. When the budget runs out, the caller enqueues
    ``xapi.jobs.continue_learner_pull`` and the learner cursor keeps the place.
    """
    person = session.get(Person, person_id)
    if person is None:
        raise ValueError(f"no person {person_id}")
    deadline = clock() + budget_s
    report = PullReport(complete=True)
    connections = [
        c for c in active_connections(session, person.tenant_id) if c.sync_enabled
    ]
    for connection in connections:
        report.connections += 1
        done = _pull_one(
            session,
            connection=connection,
            person=person,
            deadline=deadline,
            counters=report.counters,
            client_factory=client_factory or client_for,
            checkpoint=checkpoint,
            clock=clock,
        )
        report.complete = report.complete and done
    return report


def pull_at_launch(
    session: Session,
    *,
    person_id: int,
    budget_s: float,
    client_factory: ClientFactory | None = None,
) -> PullReport:
    """The launch hook: pull within the budget, continue in the background if needed.

    Call it in the launch's transaction with ``Settings.lrs_pull_budget_s``; the
    follow-up job is enqueued only after that transaction commits.
    """
    report = pull_learner_statements(
        session, person_id=person_id, budget_s=budget_s, client_factory=client_factory
    )
    if not report.complete:
        kicks.continue_pull_after_commit(session, person_id)
    return report


def _client_deadline(
    client: LrsClient, deadline: float | None, clock: Callable[[], float]
) -> float | None:
    """Translate our deadline into the client's clock."""
    if deadline is None:
        return None
    return client._clock() + (deadline - clock())


def _pull_one(
    session: Session,
    *,
    connection: LrsConnection,
    person: Person,
    deadline: float | None,
    counters: Counter[str],
    client_factory: ClientFactory,
    checkpoint: Checkpoint,
    clock: Callable[[], float],
) -> bool:
    state = session.get(LearnerCursor, (connection.id, person.id))
    if state is None:
        state = LearnerCursor(connection_id=connection.id, person_id=person.id)
        session.add(state)
        session.flush()
    keys = person_actor_keys(session, connection, person)
    processor = EvidenceProcessor(session, connection)
    overlap = dt.timedelta(seconds=connection.overlap_s)
    client = client_factory(connection)
    window = SeenWindow(())
    complete = True
    try:
        # The agent filter takes one identifier: ask once per identity the
        # connection matches on (LMS account, emails, other systems' accounts).
        for key in keys:
            since = state.last_stored - overlap if state.last_stored else None
            query = StatementQuery(
                agent=actors.actor_filter(key),
                since=since,
                limit=connection.page_size,
                ascending=True,
            )
            newest_seen = state.last_stored
            consistent: dt.datetime | None = None
            page = client.get_statements(
                query, deadline=_client_deadline(client, deadline, clock)
            )
            more_links: set[str] = set()
            while True:
                if consistent is None:
                    consistent = page.consistent_through or utcnow()
                newest = processor.process(page.statements, counters, window.seen)
                if newest is not None:
                    capped = min(newest, consistent)
                    if newest_seen is None or capped > newest_seen:
                        newest_seen = capped
                        # Pages are whole and ascending: all before this is processed.
                        state.last_stored = newest_seen
                session.flush()
                if not page.more:
                    break
                if page.more in more_links:
                    # The LRS re-serves a page: following it again would loop.
                    log.warning(
                        "launch pull from LRS %s stopped: the LRS returned the same "
                        "page again",
                        connection.id,
                    )
                    complete = False
                    break
                more_links.add(page.more)
                if deadline is not None and clock() >= deadline:
                    complete = False
                    break
                page = client.get_more(
                    page.more,
                    query=query,
                    deadline=_client_deadline(client, deadline, clock),
                )
            if not complete:
                break
    except BudgetExceeded:
        complete = False
    except LrsError as exc:
        log.warning("launch pull from LRS %s failed: %s", connection.id, exc)
        complete = False
    finally:
        client.close()
    state.complete = complete
    if complete:
        session.execute(
            delete(UnmatchedActor).where(
                UnmatchedActor.connection_id == connection.id,
                UnmatchedActor.actor_key.in_(keys),
            )
        )
    processor.flush_unmatched()
    session.flush()
    checkpoint()
    return complete
