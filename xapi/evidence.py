"""xAPI: judging statements by the tenant's rules and turning them into evidence rows.

Both the full sync and the launch-time pull read pages through one
``EvidenceProcessor``, so a statement becomes the same evidence whichever way it came.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adaptive.models import Activity, ActivitySkill, Framework, Skill
from lti_tool.infra.db import utcnow
from lti_tool.infra.directory import directory_keys, normalise_actor_key
from lti_tool.infra.models import Person
from lti_tool.infra.tenancy import visible_to_tenant
from xapi.core import actors, incoming
from xapi.core import statements as st
from xapi.evidence_store import EvidenceBatch, EvidenceRow, write_batch
from xapi.identity import listed_kinds, matched_kinds, tenant_identity
from xapi.models import LrsConnection, UnmatchedActor, VoidedStatement
from xapi.paging import DUPLICATE, REREAD, SeenWindow
from xapi.rule_store import load_rules

# What became of each statement a run fetched: exactly one of these per statement,
# so they add up to ``fetched`` (``reread`` statements are in none of them).
OUTCOMES = (
    "malformed",
    "duplicates",
    "voiding",
    "own",
    "unmatched_rule",
    "unmatched_actor",
    "no_skill",
    "matched",
)


@dataclass(frozen=True, slots=True)
class _SkillLink:
    skill_id: int
    weight: float
    level: int | None
    activity_id: int | None


class EvidenceProcessor:
    """Turns pages of one connection's statements into evidence rows.

    Caches what does not change during a run (rules, skills, activity tags, people).
    ``prepare`` does the per-statement work without touching the database tables it
    writes, so a page can be written by another connection (``write_batch``) while
    the next one is prepared.
    """

    def __init__(self, session: Session, connection: LrsConnection) -> None:
        self.session = session
        self.connection = connection
        self.tenant_id = connection.tenant_id
        self.rules = load_rules(session, tenant_id=connection.tenant_id)
        issuer, deployment_id = tenant_identity(session, connection.tenant_id)
        self.home_page = actors.account_home_page(
            issuer,
            deployment_id,
            include_deployment=connection.home_page_includes_deployment,
            override=connection.home_page_override,
        ).rstrip("/")
        # What statements are matched on (``match_on``), not what we send.
        self.match_accounts, self.match_emails = matched_kinds(connection)
        self.people: dict[str, int | None] = {}
        self._all_people_loaded = False
        self._skills_by_key = self._load_skill_keys()
        self._activity_skills = self._load_activity_skills()
        # Listed identities (emails, other systems' accounts) -> person id.
        self._listed_people = directory_keys(
            session, self.tenant_id, kinds=listed_kinds(connection)
        )
        self.unmatched: dict[str, list[Any]] = {}
        self._preload_people()
        # Voided ids are few; holding them saves a lookup per page.
        self.voided: set[str] = set(
            session.scalars(
                select(VoidedStatement.statement_id).where(
                    VoidedStatement.tenant_id == self.tenant_id
                )
            )
        )

    def _preload_people(self, limit: int = 500_000) -> None:
        """Know every person of the tenant up front (one query, not one per page)."""
        if not self.match_accounts:
            return
        total = self.session.scalar(
            select(func.count()).where(Person.tenant_id == self.tenant_id)
        )
        if not total or total > limit:
            return
        prefix = f"account:{self.home_page}|"
        for sub, person_id in self.session.execute(
            select(Person.sub, Person.id).where(
                Person.tenant_id == self.tenant_id, Person.sub.is_not(None)
            )
        ):
            self.people[prefix + str(sub)] = int(person_id)
        self._all_people_loaded = True

    # -- caches ---------------------------------------------------------------

    def _load_skill_keys(self) -> dict[str, list[int]]:
        mapping: dict[str, list[int]] = {}
        rows = self.session.execute(
            select(Skill.id, Skill.key, Framework.key)
            .join(Framework, Framework.id == Skill.framework_id)
            .where(visible_to_tenant(Framework.tenant_id, self.tenant_id))
        )
        for skill_id, key, framework_key in rows:
            mapping.setdefault(key, []).append(skill_id)
            mapping.setdefault(f"{framework_key}/{key}", []).append(skill_id)
        return mapping

    def _load_activity_skills(self) -> dict[str, list[_SkillLink]]:
        mapping: dict[str, list[_SkillLink]] = {}
        rows = self.session.execute(
            select(
                Activity.url,
                Activity.id,
                ActivitySkill.skill_id,
                ActivitySkill.weight,
                ActivitySkill.level,
            )
            .join(ActivitySkill, ActivitySkill.activity_id == Activity.id)
            .join(Framework, Framework.id == Activity.framework_id)
            .where(
                visible_to_tenant(Framework.tenant_id, self.tenant_id),
                Activity.url.is_not(None),
            )
        )
        for url, activity_id, skill_id, weight, level in rows:
            mapping.setdefault(str(url), []).append(
                _SkillLink(skill_id, float(weight), level, activity_id)
            )
        return mapping

    def resolve_people(self, keys: Iterable[str]) -> None:
        """Fill the people cache for actor keys not seen yet (one query per page)."""
        subs: dict[str, str] = {}
        for key in keys:
            if key in self.people:
                continue
            if key.startswith("account:") and self.match_accounts:
                home, _, sub = key[len("account:") :].rpartition("|")
                if home.rstrip("/") == self.home_page:
                    if self._all_people_loaded:
                        canonical = f"account:{self.home_page}|{sub}"
                        self.people[key] = self.people.get(canonical)
                    else:
                        subs[sub] = key
                    continue
            self.people[key] = self._listed_people.get(normalise_actor_key(key))
        if not subs:
            return
        found: dict[str, int] = {}
        names = list(subs)
        for start in range(0, len(names), 500):
            rows = self.session.execute(
                select(Person.sub, Person.id).where(
                    Person.tenant_id == self.tenant_id,
                    Person.sub.in_(names[start : start + 500]),
                )
            )
            found.update({str(sub): int(pid) for sub, pid in rows})
        for sub, key in subs.items():
            self.people[key] = found.get(sub)

    # -- per page ---------------------------------------------------------------

    def process(
        self, raw_statements: Sequence[Any], counters: Counter[str], window: SeenWindow
    ) -> dt.datetime | None:
        """Process and write one page; return the greatest ``stored`` read."""
        newest, batch = self.prepare(raw_statements, counters, window)
        counters.update(write_batch(self.session, self.tenant_id, batch))
        self.absorb(batch)
        return newest

    def prepare(
        self, raw_statements: Sequence[Any], counters: Counter[str], window: SeenWindow
    ) -> tuple[dt.datetime | None, EvidenceBatch]:
        """Read, de-duplicate and judge one page; return its newest ``stored`` and
        the writes it needs (not applied yet).

        Each statement is counted once per run: ``fetched`` the first time the run
        reads it (then exactly one outcome: ``malformed``, ``duplicates``,
        ``voiding``, ``own``, ``unmatched_rule``, ``unmatched_actor``,
        ``no_skill`` or ``matched``), ``reread`` every later time.
        """
        batch = EvidenceBatch()
        readable: list[incoming.Incoming] = []
        newest: dt.datetime | None = None
        now = utcnow()
        read = incoming.read_incoming
        classify = window.classify
        fetched = duplicates = reread = 0
        refused: Counter[str] = Counter()
        for raw in raw_statements:
            item = read(raw)
            if isinstance(item, incoming.Refusal):
                row = self._quarantine_row(raw, item.reason, now)
                if window.malformed_again(row["fingerprint"]):
                    reread += 1
                    continue
                fetched += 1
                refused[item.code] += 1
                batch.quarantine.append(row)
                continue
            stored = item.stored
            if newest is None or stored > newest:
                newest = stored
            kind = classify(item.id, stored)
            if kind == REREAD:
                reread += 1
                continue
            fetched += 1
            if kind == DUPLICATE:
                duplicates += 1
                continue
            readable.append(item)
        counters["fetched"] += fetched
        if reread:
            counters["reread"] += reread
        if refused:
            counters["malformed"] += sum(refused.values())
            counters.update({f"malformed.{c}": n for c, n in refused.items()})
        if duplicates:
            counters["duplicates"] += duplicates
        people = self.people
        missing = {
            i.actor_key
            for i in readable
            if i.actor_key and i.voids is None and i.actor_key not in people
        }
        if missing:
            self.resolve_people(missing)

        rows = batch.rows
        voided = self.voided
        match = self.rules.match
        own = st.is_own_statement
        add_rows = self._evidence_rows
        outcomes: Counter[str] = Counter()
        for item in readable:
            if item.voids is not None:
                batch.voids.append((item.voids, item.id))
                outcomes["voiding"] += 1
                continue
            raw = item.raw
            if own(raw):
                outcomes["own"] += 1
                continue
            matches = match(raw, item.verb, item.object_id, item.object_type)
            if not matches:
                outcomes["unmatched_rule"] += 1
                continue
            key = item.actor_key
            person_id = people.get(key) if key else None
            if person_id is None:
                outcomes["unmatched_actor"] += 1
                if key:
                    _note(batch.unmatched, key, item.stored)
                continue
            if add_rows(item, person_id, matches, rows, now, item.id in voided):
                outcomes["matched"] += 1
            else:
                outcomes["no_skill"] += 1
        counters.update(outcomes)
        # Rows of this page are marked above from earlier voidings; the writer's
        # UPDATE (after this page's INSERT) catches targets in this very page.
        voided.update(target for target, _ in batch.voids)
        return newest, batch

    def absorb(self, batch: EvidenceBatch) -> None:
        """Count a committed batch's unknown actors (recorded by flush_unmatched)."""
        for key, (count, first, last) in batch.unmatched.items():
            entry = self.unmatched.get(key)
            if entry is None:
                self.unmatched[key] = [count, first, last]
            else:
                entry[0] += count
                entry[1] = min(entry[1], first)
                entry[2] = max(entry[2], last)

    def _quarantine_row(
        self, raw: Any, reason: str, now: dt.datetime
    ) -> dict[str, Any]:
        try:
            text = json.dumps(raw, sort_keys=True, ensure_ascii=False)
        except (TypeError, ValueError):
            text = repr(raw)
        sid = raw.get("id") if isinstance(raw, dict) else None
        return {
            "connection_id": self.connection.id,
            "fingerprint": hashlib.sha256(text.encode("utf-8")).hexdigest(),
            "statement_id": str(sid)[:64] if sid is not None else None,
            "reason": reason[:500],
            "raw": text[:20000],
            "created_at": now,
        }

    def _evidence_rows(
        self,
        item: incoming.Incoming,
        person_id: int,
        matches: Sequence[Any],
        rows: list[EvidenceRow],
        now: dt.datetime,
        voided: bool,
    ) -> bool:
        """Append the statement's evidence rows; False when no skill was found."""
        occurred = item.occurred or item.stored
        tenant_id = self.tenant_id
        statement_id = item.id
        skills_by_key = self._skills_by_key
        used: set[int] = set()
        for match in matches:
            links: list[_SkillLink] = []
            for ref in match.skills:
                for skill_id in skills_by_key.get(ref.key, ()):
                    links.append(_SkillLink(skill_id, ref.weight, None, None))
            if match.use_activity_skills:
                links.extend(self._activity_skills.get(item.object_id, ()))
            outcome = match.outcome
            weight = match.weight
            level = match.level
            rule_key = match.rule_key
            for link in links:
                if link.skill_id in used:
                    continue
                used.add(link.skill_id)
                rows.append(
                    (
                        tenant_id,
                        person_id,
                        link.skill_id,
                        outcome,
                        weight * link.weight,
                        level if level is not None else link.level,
                        "xapi",
                        link.activity_id,
                        statement_id,
                        rule_key,
                        occurred,
                        voided,
                        now,
                    )
                )
        return bool(used)

    def flush_unmatched(self) -> None:
        """Record unknown actors so their statements are pulled when they launch."""
        if not self.unmatched:
            return
        keys = list(self.unmatched)
        existing = {
            row.actor_key: row
            for row in self.session.scalars(
                select(UnmatchedActor).where(
                    UnmatchedActor.connection_id == self.connection.id,
                    UnmatchedActor.actor_key.in_(keys),
                )
            )
        }
        for key, (count, first, last) in self.unmatched.items():
            row = existing.get(key)
            if row is None:
                self.session.add(
                    UnmatchedActor(
                        connection_id=self.connection.id,
                        actor_key=key[:700],
                        statements=count,
                        first_stored=first,
                        last_stored=last,
                    )
                )
            else:
                row.statements += count
                row.first_stored = min(row.first_stored, first)
                row.last_stored = max(row.last_stored, last)
        self.unmatched.clear()
        self.session.flush()


def _note(unmatched: dict[str, list[Any]], key: str, stored: dt.datetime) -> None:
    entry = unmatched.get(key)
    if entry is None:
        unmatched[key] = [1, stored, stored]
        return
    entry[0] += 1
    if stored < entry[1]:
        entry[1] = stored
    if stored > entry[2]:
        entry[2] = stored
