"""Pure adaptive core: which role targets a catalogue lets the engine reach, and why not.

``parse_catalogue`` checks that a file is well formed; this checks that it *works*:
for every role it walks the skills the engine will work on (the targets and their
implied prerequisites, with the engine's own ``work_list`` and ``check_level``) and
reports each defect with its skill and level. An error makes a target unreachable
(the engine would answer "blocked"), so the import refuses the file; a warning is
imported and reported (the engine copes, but the author probably did not mean it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from adaptive.core import catalogue_defects as wording
from adaptive.core.catalogue import Catalog
from adaptive.core.catalogue_check import find_cycles
from adaptive.core.catalogue_format import CatalogueDoc, CatalogueIssue, RoleDoc
from adaptive.core.decisions import Overrides
from adaptive.core.engine_catalogue import catalog_from_document
from adaptive.core.mastery_rounds import MasteryConfig, check_pool
from adaptive.core.mastery_work import SkillWork, check_level, work_list

ERROR = "error"
WARNING = "warning"

# code -> severity; the author guide lists each with how to fix it.
SEVERITY = {
    "cycle": ERROR,
    "no_such_level": ERROR,
    "no_assessment": ERROR,
    "no_teaching_content": ERROR,
    "no_content_at_level": WARNING,
    "level_gap": WARNING,
    "prerequisite_without_content": WARNING,
    "thin_check": WARNING,
}


@dataclass(frozen=True)
class CatalogueFinding:
    """One defect: what (``code``), where (skill, level, line) and for which roles."""

    code: str
    skill: str
    level: int
    message: str
    roles: tuple[str, ...] = ()
    line: int = 1

    @property
    def severity(self) -> str:
        return SEVERITY[self.code]

    def text(self) -> str:
        """The message with the roles it affects, as the CLI and console print it."""
        if not self.roles:
            return self.message
        label = "role" if len(self.roles) == 1 else "roles"
        return f"{self.message} [{label} {', '.join(self.roles)}]"

    def issue(self) -> CatalogueIssue:
        """As a line-numbered import problem (``CatalogueError`` renders it)."""
        return CatalogueIssue(self.line, f"skills.{self.skill}", self.text())


@dataclass(frozen=True)
class CatalogueHealth:
    """Every finding, errors first; ``ok`` when nothing blocks a target."""

    findings: tuple[CatalogueFinding, ...]

    @property
    def errors(self) -> tuple[CatalogueFinding, ...]:
        return tuple(f for f in self.findings if f.severity == ERROR)

    @property
    def warnings(self) -> tuple[CatalogueFinding, ...]:
        return tuple(f for f in self.findings if f.severity == WARNING)

    @property
    def ok(self) -> bool:
        return not self.errors


class _Collector:
    """Findings keyed by (code, skill, level): a defect shared by roles is one line."""

    def __init__(self, lines: dict[str, int]) -> None:
        self._lines = lines
        self._found: dict[tuple[str, str, int], tuple[str, list[str]]] = {}

    def add(self, code: str, skill: str, level: int, message: str, role: str) -> None:
        _, roles = self._found.setdefault((code, skill, level), (message, []))
        if role and role not in roles:
            roles.append(role)

    def result(self) -> CatalogueHealth:
        findings = [
            CatalogueFinding(
                code, skill, level, message, tuple(roles), self._lines.get(skill, 1)
            )
            for (code, skill, level), (message, roles) in self._found.items()
        ]
        findings.sort(key=lambda f: (f.severity != ERROR, f.line, f.skill, f.level))
        return CatalogueHealth(tuple(findings))


def check_health(doc: CatalogueDoc) -> CatalogueHealth:
    """Every reason a role target of ``doc`` cannot be reached, plus warnings.

    Args:
        doc: a parsed catalogue (``parse_catalogue``) or a stored one
            (``load_catalogue``).

    Returns:
        The findings, each with its skill key, level and line (0-based levels of
        the framework's scale; the line is the skill's, where it is known).
    """
    found = _Collector({s.key: s.line or 1 for s in doc.skills})
    graph = {s.key: list(s.prerequisites) for s in doc.skills}
    cycles = find_cycles(graph)
    for cycle in cycles:
        found.add(
            "cycle",
            cycle[0],
            0,
            "prerequisite cycle: " + " -> ".join([*cycle, cycle[0]]),
            "",
        )
    if cycles:
        # The engine cannot order a cyclic graph; the rest would be guesswork.
        return found.result()
    catalog, ids = catalog_from_document(doc)
    key_of = {ids[f"skill:{s.key}"]: s.key for s in doc.skills}
    id_of = {key: i for i, key in key_of.items()}
    for role in doc.roles:
        _check_role(catalog, role, id_of, key_of, found)
    return found.result()


def _check_role(
    catalog: Catalog,
    role: RoleDoc,
    id_of: dict[str, int],
    key_of: dict[int, str],
    found: _Collector,
) -> None:
    targets = {id_of[t.skill]: t.level for t in role.targets if t.skill in id_of}
    work = work_list(catalog, targets, Overrides())
    in_work = {w.skill_id for w in work}
    for w in work:
        _check_work(catalog, w, key_of, role.key, found)
        for pre in catalog.graph.prerequisites_of(w.skill_id):
            if pre not in in_work and not _levels(catalog, pre):
                found.add(
                    "prerequisite_without_content",
                    key_of[pre],
                    0,
                    wording.prerequisite_without_content(
                        key_of[pre], key_of[w.skill_id]
                    ),
                    role.key,
                )


def _levels(catalog: Catalog, skill: int) -> list[int]:
    content = catalog.content
    return sorted(set(content.teach_levels(skill)) | set(content.check_levels(skill)))


def _check_work(
    catalog: Catalog, w: SkillWork, key_of: dict[int, str], role: str, found: _Collector
) -> None:
    key = key_of[w.skill_id]
    if w.level >= catalog.n_levels:
        found.add(
            "no_such_level", key, w.level, wording.no_such_level(key, w.level), role
        )
        return
    content = catalog.content
    verified_at = check_level(content, w.skill_id, w.level)
    if verified_at is None:
        found.add(
            "no_assessment", key, w.level, wording.no_assessment(key, w.level), role
        )
        return
    if not [lv for lv in content.teach_levels(w.skill_id) if lv <= verified_at]:
        found.add(
            "no_teaching_content",
            key,
            verified_at,
            wording.no_teaching_content(key, verified_at),
            role,
        )
    n_items = {a.id: a.n_items for a in catalog.activities.values()}
    pool = check_pool(content, n_items, w.skill_id, verified_at, MasteryConfig())
    if pool.thin:
        found.add(
            "thin_check",
            key,
            verified_at,
            wording.thin_check(key, verified_at, pool.own),
            role,
        )
    levels = _levels(catalog, w.skill_id)
    if w.level not in levels:
        found.add(
            "no_content_at_level",
            key,
            w.level,
            wording.no_content_at_level(key, w.level, verified_at),
            role,
        )
    for gap, below, above in _gaps(lv for lv in levels if lv <= verified_at):
        if gap != w.level:
            found.add(
                "level_gap", key, gap, wording.level_gap(key, gap, below, above), role
            )


def _gaps(levels: Iterable[int]) -> Sequence[tuple[int, int, int]]:
    """Each missing level between two levels with content: (gap, below, above)."""
    ordered = sorted(levels)
    return [
        (gap, low, high)
        for low, high in zip(ordered, ordered[1:], strict=False)
        for gap in range(low + 1, high)
    ]
