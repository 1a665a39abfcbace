"""xAPI: a tenant's stored evidence rule set (the shipped defaults when it has none)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive.models import Framework, Skill
from lti_tool.infra.audit import record_audit
from lti_tool.infra.tenancy import owned_by_scope, visible_to_tenant
from xapi.core.rule_parsing import default_rules, parse_rules
from xapi.core.rules import RuleSet
from xapi.models import EvidenceRuleSet


def load_rules(session: Session, *, tenant_id: int) -> RuleSet:
    """The tenant's rule set, or the shipped defaults when it has none."""
    stored = session.get(EvidenceRuleSet, tenant_id)
    if stored is None:
        return default_rules()
    return parse_rules(stored.document)


def import_rules(
    session: Session, *, tenant_id: int, document: Any, actor: str
) -> RuleSet:
    """Validate a rule-set document (JSON text or object) and make it the tenant's."""
    rules = parse_rules(document)
    stored = session.get(EvidenceRuleSet, tenant_id)
    if stored is None:
        session.add(
            EvidenceRuleSet(
                tenant_id=tenant_id, document=rules.to_json(), updated_by=actor
            )
        )
    else:
        stored.document = rules.to_json()
        stored.updated_by = actor
    record_audit(
        session,
        actor=actor,
        action="xapi.rules.import",
        target=f"tenant:{tenant_id}",
        tenant_id=tenant_id,
        details={"rules": [r.key for r in rules.rules]},
    )
    session.flush()
    return rules


@dataclass(frozen=True)
class MissingSkill:
    """A skill a rule names that no catalogue visible to the tenant defines."""

    rule: str
    skill: str


def rules_without_skills(
    session: Session, *, tenant_id: int | None
) -> list[MissingSkill]:
    """Skills the tenant's rules name that no catalogue it sees defines.

    A statement such a rule matches is counted ``no_skill`` and becomes no evidence,
    so an admin is told at catalogue import and on the rules page instead of
    finding out from a counter. ``None`` checks the shipped defaults against the
    shared catalogue alone.
    """
    rules = (
        default_rules()
        if tenant_id is None
        else load_rules(session, tenant_id=tenant_id)
    )
    scope = (
        owned_by_scope(Framework.tenant_id, None)
        if tenant_id is None
        else visible_to_tenant(Framework.tenant_id, tenant_id)
    )
    known: set[str] = set()
    for key, framework_key in session.execute(
        select(Skill.key, Framework.key)
        .join(Framework, Framework.id == Skill.framework_id)
        .where(scope)
    ):
        known.update((key, f"{framework_key}/{key}"))
    return [
        MissingSkill(rule.key, ref.key)
        for rule in rules.rules
        for ref in rule.skills
        if ref.key not in known
    ]


def describe_missing_skills(missing: list[MissingSkill]) -> str:
    """One line for the CLI and the console ('' when nothing is missing)."""
    if not missing:
        return ""
    skills = sorted({m.skill for m in missing})
    rules = sorted({m.rule for m in missing})
    return (
        f"{len(rules)} evidence rules name skills no loaded catalogue defines "
        f"({', '.join(skills)}): statements they match become no evidence "
        f"(counted no_skill). Rules: {', '.join(rules)}. Add these skills to a "
        "catalogue or change the rules."
    )
