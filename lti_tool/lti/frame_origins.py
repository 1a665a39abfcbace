"""LTI protocol: the origins of the registered platforms, the only pages that may frame the tool.

An LMS shows launches in an iframe, so LTI and learner pages cannot forbid framing
outright; they allow exactly the platforms registered here (their issuers' and
auth endpoints' origins), so a page elsewhere cannot frame a learner's page and
click through it. The set is read on every HTML response of those pages, so it
comes from the exact per-process revision cache: no query beyond the stamp read.
"""

from __future__ import annotations

import re

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from lti_tool.infra import revision
from lti_tool.infra.models import Deployment, Registration
from lti_tool.lti.link_urls import origin_of

_ORIGINS = revision.RevisionCache(revision.CONFIG, size=4)
# What may appear in a CSP source expression: an issuer is set by a platform (Dynamic
# Registration), so anything else (";", spaces, quotes) must never reach the header.
_HOST = re.compile(r"^[A-Za-z0-9.-]+$")


def url_origin(url: str | None) -> str | None:
    """The URL's origin (``link_urls.origin_of``), or None unless it is header-safe."""
    origin = origin_of(url)
    if origin is None or not _HOST.match(origin.split("://", 1)[1].rsplit(":", 1)[0]):
        return None
    return origin


def _load(session: Session) -> frozenset[str]:
    # A registration whose every deployment an admin switched off launches nothing.
    switched_off = exists().where(Deployment.registration_id == Registration.id) & ~(
        exists().where(
            Deployment.registration_id == Registration.id, Deployment.active.is_(True)
        )
    )
    rows = session.execute(
        select(Registration.issuer, Registration.auth_login_url).where(~switched_off)
    ).all()
    origins = {url_origin(url) for row in rows for url in row}
    return frozenset(o for o in origins if o is not None)


def platform_origins(session: Session) -> frozenset[str]:
    """Origins of every registration that can still launch (issuer and auth endpoint)."""
    return _ORIGINS.get(session, "platforms", lambda: _load(session))
