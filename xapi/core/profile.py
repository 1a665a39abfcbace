"""Pure vocabulary: Pathwise's xAPI profile IRIs (verbs, activity types, extensions).

Standard ADL verbs are reused where ADL defines them, so LRS reports and other tools
recognise our statements; the profile defines only what no vocabulary has
(``recommended``), plus our activity types and extensions.
"""

from __future__ import annotations

from typing import Final

PROFILE_IRI: Final = "https://xapi.pathwise.dev/profile"
PROFILE_VERSION_IRI: Final = PROFILE_IRI + "/v1"

ADL_VERBS: Final = "http://adlnet.gov/expapi/verbs/"
VERB_VOIDED: Final = ADL_VERBS + "voided"

# Verbs Pathwise emits, by short name.
VERBS: Final[dict[str, str]] = {
    "attempted": ADL_VERBS + "attempted",
    "answered": ADL_VERBS + "answered",
    "passed": ADL_VERBS + "passed",
    "failed": ADL_VERBS + "failed",
    "completed": ADL_VERBS + "completed",
    "mastered": ADL_VERBS + "mastered",
    "progressed": ADL_VERBS + "progressed",
    "recommended": PROFILE_IRI + "/verbs/recommended",
    # ADL has no verb for losing mastery; "mastered" with success=false would still
    # count as mastery in reports that read only verbs, so a lapse has its own verb.
    "lapsed": PROFILE_IRI + "/verbs/lapsed",
}

VERB_DISPLAY: Final[dict[str, str]] = {
    "attempted": "attempted",
    "answered": "answered",
    "passed": "passed",
    "failed": "failed",
    "completed": "completed",
    "mastered": "mastered",
    "progressed": "progressed",
    "recommended": "was recommended",
    "lapsed": "lapsed below target",
}

ACTIVITY_TYPES: Final[dict[str, str]] = {
    "module": PROFILE_IRI + "/activity-types/module",
    "activity": PROFILE_IRI + "/activity-types/micro-activity",
    "question": "http://adlnet.gov/expapi/activities/cmi.interaction",
    "skill": PROFILE_IRI + "/activity-types/skill",
    "course": "http://adlnet.gov/expapi/activities/course",
    "placement": PROFILE_IRI + "/activity-types/placement-check",
}

# Extensions (keys of result/context extensions).
EXT_SKILLS: Final = PROFILE_IRI + "/extensions/skills"
EXT_MASTERY: Final = PROFILE_IRI + "/extensions/mastery"
EXT_LEVEL: Final = PROFILE_IRI + "/extensions/level"
EXT_TARGET_LEVEL: Final = PROFILE_IRI + "/extensions/target-level"
EXT_REASON: Final = PROFILE_IRI + "/extensions/reason"
EXT_RANK: Final = PROFILE_IRI + "/extensions/rank"
EXT_TENANT: Final = PROFILE_IRI + "/extensions/tenant"
EXT_LTI_DEPLOYMENT: Final = PROFILE_IRI + "/extensions/lti-deployment-id"
EXT_CSAT: Final = PROFILE_IRI + "/extensions/csat"

# Work-signal vocabulary of the default evidence rules (see docs/xapi.md); connectors
# that already have their own IRIs are matched by rules an admin edits.
WORK_VERB_APPROVED: Final = "http://activitystrea.ms/schema/1.0/approve"
WORK_VERB_REJECTED: Final = "http://activitystrea.ms/schema/1.0/reject"
WORK_VERB_RESOLVED: Final = PROFILE_IRI + "/verbs/resolved"
WORK_VERB_SCORED: Final = ADL_VERBS + "scored"
WORK_TYPE_CODE_REVIEW: Final = PROFILE_IRI + "/activity-types/code-review"
WORK_TYPE_TICKET: Final = PROFILE_IRI + "/activity-types/support-ticket"
WORK_TYPE_SALES_CALL: Final = PROFILE_IRI + "/activity-types/sales-call"

# The namespace for deterministic statement and registration UUIDs (uuid5).
UUID_NAMESPACE: Final = "5b3c2a0e-9d1f-5c71-9a44-2f6e0b1c7d10"
