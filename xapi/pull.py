"""xAPI: the launch-time pull of one learner's own statements, within a time budget."""

from __future__ import annotations

import datetime as dt
import hashlib
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
from xapi.client import LrsClient
from xapi.connections import ClientFactory, client_for
from xapi.core import actors
from xapi.evidence import EvidenceProcessor
from xapi.identity import active_connections, person_actor_keys
from xapi.lrs_errors import BudgetExceeded, LrsError
from xapi.models import LrsConnection, QueryCursor, UnmatchedActor
from xapi.paging import SeenWindow
from xapi.statement_query import StatementQuery
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
    evidence at first launch. Each of the person's actor keys is its own query
    with its own cursor (``QueryCursor``), so one query's place never skips
    another's statements. When the budget runs out, the caller enqueues
    ``xapi.jobs.continue_learner_pull`` and the query cursors keep the place.
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


def query_key(actor_key: str) -> str:
    """The short key of one agent query (its cursor's primary key part)."""
    return hashlib.sha256(actor_key.encode("utf-8")).hexdigest()


def _query_cursor(
    session: Session, connection: LrsConnection, person: Person, actor_key: str
) -> QueryCursor:
    key = (connection.id, person.id, query_key(actor_key))
    state = session.get(QueryCursor, key)
    if state is None:
        state = QueryCursor(
            connection_id=connection.id,
            person_id=person.id,
            query_key=key[2],
            actor_key=actor_key[:700],
        )
        session.add(state)
        session.flush()
    return state


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
    """Pull every agent query of one person on one connection, each from its own
    cursor; forget an unknown-actor record only once its own query completed."""
    keys = person_actor_keys(session, connection, person)
    processor = EvidenceProcessor(session, connection)
    client = client_factory(connection)
    # One window for all of this pull's queries: a statement is counted once.
    window = SeenWindow(())
    finished: list[str] = []
    complete = True
    try:
        for key in keys:
            state = _query_cursor(session, connection, person, key)
            state.complete = _pull_query(
                session,
                connection=connection,
                client=client,
                actor_key=key,
                state=state,
                processor=processor,
                window=window,
                deadline=deadline,
                counters=counters,
                clock=clock,
            )
            if not state.complete:
                complete = False
                break
            finished.append(key)
    finally:
        client.close()
    if finished:
        session.execute(
            delete(UnmatchedActor).where(
                UnmatchedActor.connection_id == connection.id,
                UnmatchedActor.actor_key.in_(finished),
            )
        )
    processor.flush_unmatched()
    session.flush()
    checkpoint()
    return complete


def _pull_query(
    session: Session,
    *,
    connection: LrsConnection,
    client: LrsClient,
    actor_key: str,
    state: QueryCursor,
    processor: EvidenceProcessor,
    window: SeenWindow,
    deadline: float | None,
    counters: Counter[str],
    clock: Callable[[], float],
) -> bool:
    """Follow one agent query from its cursor; True when it reached the end."""
    overlap = dt.timedelta(seconds=connection.overlap_s)
    query = StatementQuery(
        agent=actors.actor_filter(actor_key),
        since=state.last_stored - overlap if state.last_stored else None,
        limit=connection.page_size,
        ascending=True,
    )
    consistent: dt.datetime | None = None
    more_links: set[str] = set()
    try:
        page = client.get_statements(
            query, deadline=_client_deadline(client, deadline, clock)
        )
        while True:
            if consistent is None:
                consistent = page.consistent_through or utcnow()
            newest = processor.process(page.statements, counters, window)
            if newest is not None:
                capped = min(newest, consistent)
                if state.last_stored is None or capped > state.last_stored:
                    # Pages are whole and ascending: all before this is processed.
                    state.last_stored = capped
            session.flush()
            if not page.more:
                return True
            if page.more in more_links:
                # The LRS re-serves a page: following it again would loop.
                log.warning(
                    "launch pull from LRS %s stopped: the LRS returned the same "
                    "page again",
                    connection.id,
                )
                return False
            more_links.add(page.more)
            if deadline is not None and clock() >= deadline:
                return False
            page = client.get_more(
                page.more,
                query=query,
                deadline=_client_deadline(client, deadline, clock),
            )
    except BudgetExceeded:
        return False
    except LrsError as exc:
        log.warning("launch pull from LRS %s failed: %s", connection.id, exc)
        return False
