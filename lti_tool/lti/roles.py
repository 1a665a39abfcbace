"""LTI protocol: LTI role URIs mapped to Pathwise's learner, instructor and admin."""

from __future__ import annotations

from lti_tool.infra.models import ROLE_ADMIN, ROLE_INSTRUCTOR, ROLE_LEARNER

ADMIN_ROLE_SUFFIXES = ("#Administrator", "/Administrator")
INSTRUCTOR_ROLE_SUFFIXES = (
    "#Instructor",
    "#ContentDeveloper",
    "#Mentor",
    "#TeachingAssistant",
    "#Manager",
    "/Instructor",
    "/Faculty",
)
SHORT_ADMIN = {"Administrator", "SysAdmin"}
SHORT_INSTRUCTOR = {
    "Instructor",
    "ContentDeveloper",
    "Mentor",
    "TeachingAssistant",
    "Manager",
}


def map_lti_roles(roles: list[str]) -> str:
    """LTI role URIs (full or short) to Pathwise's learner / instructor / admin.

    Empty, unknown or missing roles make a learner: least privilege.
    """
    names = [r.strip() for r in roles if isinstance(r, str) and r.strip()]
    if any(r.endswith(ADMIN_ROLE_SUFFIXES) or r in SHORT_ADMIN for r in names):
        return ROLE_ADMIN
    if any(
        r.endswith(INSTRUCTOR_ROLE_SUFFIXES)
        or r in SHORT_INSTRUCTOR
        or "#Instructor" in r
        or r.endswith("Instructor#TeachingAssistant")
        for r in names
    ):
        return ROLE_INSTRUCTOR
    return ROLE_LEARNER
