"""xAPI: a tenant's stored evidence rule set (the shipped defaults when it has none)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from lti_tool.infra.audit import record_audit
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
