"""The tool's registration of the development LMS: created once, whatever the calls."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lti_tool.devplatform.vocabulary import DEV_CLIENT_ID, DEV_DEPLOYMENT_ID
from lti_tool.infra.config import Settings
from lti_tool.infra.models import Deployment, Registration
from lti_tool.lti.dev_registration import ensure_dev_registration


def test_dev_registration_is_created_once(
    db_session: Session, settings: Settings
) -> None:
    first = ensure_dev_registration(db_session, settings)
    second = ensure_dev_registration(db_session, settings)

    assert first.id == second.id
    assert first.issuer == settings.base_url.rstrip("/") + "/dev-platform"
    assert first.client_id == DEV_CLIENT_ID
    assert first.key_set_url == first.issuer + "/jwks"
    assert db_session.scalar(select(func.count()).select_from(Registration)) == 1
    deployments = db_session.scalars(select(Deployment)).all()
    assert [d.deployment_id for d in deployments] == [DEV_DEPLOYMENT_ID]
