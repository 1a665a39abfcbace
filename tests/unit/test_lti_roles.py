"""LTI roles map to least privilege; launch tokens are signed and expire."""

from __future__ import annotations

import pytest

from lti_tool.infra.models import Launch
from lti_tool.lti.errors import LaunchRejected
from lti_tool.lti.launch_token import issue_launch_token, read_launch_token
from lti_tool.lti.roles import map_lti_roles

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        ([LIS + "membership#Learner"], "learner"),
        ([LIS + "membership#Instructor"], "instructor"),
        ([LIS + "membership#Learner", LIS + "membership#Instructor"], "instructor"),
        (
            [LIS + "institution/person#Administrator", LIS + "membership#Learner"],
            "admin",
        ),
        (["Instructor"], "instructor"),
        (["Learner"], "learner"),
        (["http://example.com/roles#Wizard"], "learner"),
        ([""], "learner"),
        ([], "learner"),
        ([LIS + "membership/Instructor#TeachingAssistant"], "instructor"),
    ],
)
def test_roles_map_to_pathwise_roles(roles: list[str], expected: str) -> None:
    assert map_lti_roles(roles) == expected


def _launch() -> Launch:
    return Launch(id=7, person_id=3, tenant_id=2, role="learner", message_type="x")


def test_launch_token_round_trips() -> None:
    token = issue_launch_token(secret_key="k" * 40, ttl_s=600, launch=_launch())
    ctx = read_launch_token(secret_key="k" * 40, token=token)
    assert (ctx.launch_id, ctx.person_id, ctx.tenant_id, ctx.role) == (
        7,
        3,
        2,
        "learner",
    )


def test_expired_or_forged_launch_tokens_are_refused() -> None:
    expired = issue_launch_token(
        secret_key="k" * 40, ttl_s=60, launch=_launch(), now=1_000
    )
    with pytest.raises(LaunchRejected) as err:
        read_launch_token(secret_key="k" * 40, token=expired)
    assert err.value.code == "launch_expired"
    forged = issue_launch_token(secret_key="other" * 10, ttl_s=600, launch=_launch())
    with pytest.raises(LaunchRejected) as err:
        read_launch_token(secret_key="k" * 40, token=forged)
    assert err.value.code == "bad_launch_token"
