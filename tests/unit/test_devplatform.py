"""Unit tests of the development LMS alone: OIDC auth, token endpoint, AGS, NRPS, DL."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from lti_tool.devplatform.errors import (
    AuthorizationError,
    DeepLinkError,
    OAuthError,
    ServiceError,
)
from lti_tool.devplatform.keys import generate_rsa_key, load_or_create_key, public_jwk
from lti_tool.devplatform.model import INSTRUCTOR, LEARNER
from lti_tool.devplatform.overrides import DROP
from lti_tool.devplatform.platform import DevPlatform
from lti_tool.devplatform.vocabulary import (
    CLAIM_AGS,
    CLAIM_CONTEXT,
    CLAIM_CUSTOM,
    CLAIM_DEPLOYMENT_ID,
    CLAIM_DL_CONTENT_ITEMS,
    CLAIM_DL_DATA,
    CLAIM_DL_SETTINGS,
    CLAIM_MESSAGE_TYPE,
    CLAIM_NRPS,
    CLAIM_RESOURCE_LINK,
    CLAIM_ROLES,
    CLAIM_VERSION,
    MEDIA_SCORE,
    MESSAGE_DEEP_LINKING,
    MESSAGE_DEEP_LINKING_RESPONSE,
    SCOPE_LINEITEM,
    SCOPE_NRPS,
    SCOPE_SCORE,
)
from tests.devplatform_support import (
    COURSE,
    ISSUER,
    TOOL_BASE,
    TOOL_KEY,
    FakeToolJwks,
    auth_params,
    bearer,
    client_assertion,
    graded_lineitem_id,
    make_dev_platform,
    score,
    token_form,
)

# A second key for the wrong-signer cases (RSA generation is the slow part of these tests).
OTHER_KEY = generate_rsa_key()


@pytest.fixture
def tool_jwks() -> FakeToolJwks:
    return FakeToolJwks(TOOL_KEY)


@pytest.fixture
def platform(tool_jwks: FakeToolJwks) -> DevPlatform:
    return make_dev_platform(tool_jwks)


def verify_with_platform_jwks(platform: DevPlatform, token: str) -> dict[str, Any]:
    kid = jwt.get_unverified_header(token)["kid"]
    jwk = next(k for k in platform.jwks()["keys"] if k["kid"] == kid)
    claims: dict[str, Any] = jwt.decode(
        token,
        jwt.PyJWK(jwk).key,
        algorithms=["RS256"],
        audience=platform.tool.client_id,
    )
    return claims


# ------------------------------------------------------------ OIDC authorise


def test_authorize_answers_with_a_signed_id_token_for_the_launch(
    platform: DevPlatform,
) -> None:
    answer = platform.authorize(auth_params(platform))

    assert answer.redirect_uri == TOOL_BASE + "/lti/launch"
    assert answer.fields["state"] == "state-1"
    claims = verify_with_platform_jwks(platform, answer.id_token)
    assert claims["iss"] == ISSUER
    assert claims["azp"] == platform.tool.client_id
    assert claims["sub"] == LEARNER.sub
    assert claims["nonce"] == "nonce-1"
    assert claims[CLAIM_VERSION] == "1.3.0"
    assert claims[CLAIM_MESSAGE_TYPE] == "LtiResourceLinkRequest"
    assert claims[CLAIM_DEPLOYMENT_ID] == platform.tool.deployment_id
    assert claims[CLAIM_RESOURCE_LINK]["id"] == "dev-link-ai-everyone"
    assert claims[CLAIM_CUSTOM]["pathwise_module"] == "ai-readiness-everyone"
    assert claims[CLAIM_CONTEXT]["id"] == COURSE
    assert claims[CLAIM_ROLES][0].endswith("membership#Learner")
    assert claims["name"] == "Ada Lovelace"
    assert claims[CLAIM_AGS]["lineitem"].startswith(ISSUER + "/ags/")
    assert SCOPE_SCORE in claims[CLAIM_AGS]["scope"]
    assert claims[CLAIM_NRPS]["service_versions"] == ["2.0"]
    assert claims["exp"] > claims["iat"]


@pytest.mark.parametrize(
    "redirect_uri",
    [
        TOOL_BASE + "/lti/launch/",
        TOOL_BASE + "/lti/launch?x=1",
        TOOL_BASE.replace("https", "http") + "/lti/launch",
        TOOL_BASE + "/LTI/launch",
        "https://evil.example.test/lti/launch",
    ],
)
def test_authorize_requires_the_exactly_registered_redirect_uri(
    platform: DevPlatform, redirect_uri: str
) -> None:
    with pytest.raises(AuthorizationError) as caught:
        platform.authorize(auth_params(platform, redirect_uri=redirect_uri))
    assert caught.value.code == "invalid_redirect_uri"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"scope": "profile"}, "invalid_scope"),
        ({"response_type": "code"}, "unsupported_response_type"),
        ({"response_mode": "query"}, "invalid_request"),
        ({"prompt": "login"}, "invalid_request"),
        ({"prompt": None}, "invalid_request"),
        ({"nonce": None}, "invalid_request"),
        ({"lti_message_hint": "msg-unknown"}, "invalid_request"),
        ({"login_hint": INSTRUCTOR.sub}, "login_required"),
        ({"client_id": "someone-else"}, "unauthorized_client"),
    ],
)
def test_authorize_refuses_requests_that_break_the_spec(
    platform: DevPlatform, change: dict[str, str | None], code: str
) -> None:
    with pytest.raises(AuthorizationError) as caught:
        platform.authorize(auth_params(platform, **change))
    assert caught.value.code == code


def test_pending_launch_overrides_reach_the_id_token(platform: DevPlatform) -> None:
    login = platform.start_launch(
        LEARNER, roles=["Learner", "Instructor"], context=DROP, version="1.1"
    )
    params = auth_params(platform)
    params["lti_message_hint"] = login.params["lti_message_hint"]

    claims = verify_with_platform_jwks(platform, platform.authorize(params).id_token)

    assert claims[CLAIM_ROLES] == ["Learner", "Instructor"]
    assert CLAIM_CONTEXT not in claims
    assert claims[CLAIM_VERSION] == "1.1"


def test_login_initiation_names_issuer_client_deployment_and_storage(
    platform: DevPlatform,
) -> None:
    login = platform.start_launch(INSTRUCTOR, storage_target="post_message_forwarding")
    query = parse_qs(urlparse(login.url).query)

    assert login.login_url == TOOL_BASE + "/lti/login"
    assert query["iss"] == [ISSUER]
    assert query["login_hint"] == [INSTRUCTOR.sub]
    assert query["client_id"] == [platform.tool.client_id]
    assert query["lti_deployment_id"] == [platform.tool.deployment_id]
    assert query["target_link_uri"] == [TOOL_BASE + "/lti/launch"]
    assert query["lti_storage_target"] == ["post_message_forwarding"]
    hint = json.loads(query["lti_message_hint"][0])
    assert hint["cmid"] == 1
    assert hint["launchid"].startswith("ltilaunch_")


# ------------------------------------------------------------------ id_token


def test_make_id_token_can_drop_kid_and_sign_with_another_key(
    platform: DevPlatform,
) -> None:
    no_kid = platform.make_id_token(LEARNER, nonce="n", headers={"kid": DROP})
    assert "kid" not in jwt.get_unverified_header(no_kid)

    forged = platform.make_id_token(LEARNER, nonce="n", signing_key=OTHER_KEY)
    assert jwt.get_unverified_header(forged)["kid"] == platform.kid
    with pytest.raises(jwt.InvalidSignatureError):
        verify_with_platform_jwks(platform, forged)


def test_deep_linking_request_carries_settings_and_no_resource_link(
    platform: DevPlatform,
) -> None:
    claims = platform.id_token_claims(INSTRUCTOR, MESSAGE_DEEP_LINKING, "n")

    settings = claims[CLAIM_DL_SETTINGS]
    assert settings["deep_link_return_url"] == ISSUER + "/deep-link-return"
    assert settings["accept_types"] == ["ltiResourceLink"]
    assert settings["data"]
    assert CLAIM_RESOURCE_LINK not in claims


def test_rotated_key_signs_and_the_old_one_stays_published(
    platform: DevPlatform,
) -> None:
    old_kid = platform.kid
    new_kid = platform.rotate_key()

    kids = [k["kid"] for k in platform.jwks()["keys"]]
    assert kids == [old_kid, new_kid]
    token = platform.make_id_token(LEARNER, nonce="n")
    assert jwt.get_unverified_header(token)["kid"] == new_kid
    assert verify_with_platform_jwks(platform, token)["sub"] == LEARNER.sub


def test_key_file_is_created_once_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "devplatform-key.pem"
    first = load_or_create_key(path)
    second = load_or_create_key(path)

    assert public_jwk(first) == public_jwk(second)
    assert path.stat().st_mode & 0o777 == 0o600


# -------------------------------------------------------------------- token


def test_token_endpoint_verifies_the_assertion_and_grants_requested_scopes(
    platform: DevPlatform,
) -> None:
    answer = platform.issue_access_token(
        token_form(client_assertion(platform), f"{SCOPE_SCORE} {SCOPE_LINEITEM}")
    )

    assert answer["token_type"] == "Bearer"
    assert answer["expires_in"] > 0
    assert set(answer["scope"].split()) == {SCOPE_SCORE, SCOPE_LINEITEM}
    grant = platform.check_access("Bearer " + answer["access_token"], [SCOPE_SCORE])
    assert grant.client_id == platform.tool.client_id


@pytest.mark.parametrize(
    "changes",
    [
        {"aud": ISSUER},
        {"aud": "https://lms.example.test/other/token"},
        {"sub": "someone-else"},
        {"exp": int(time.time()) - 60},
        {"jti": DROP},
        {"exp": DROP},
    ],
    ids=["aud-issuer", "aud-other", "sub", "expired", "no-jti", "no-exp"],
)
def test_token_endpoint_refuses_bad_assertions(
    platform: DevPlatform, changes: dict[str, Any]
) -> None:
    with pytest.raises(OAuthError) as caught:
        platform.issue_access_token(token_form(client_assertion(platform, **changes)))
    assert caught.value.code == "invalid_client"
    assert caught.value.status == 401


def test_token_endpoint_refuses_an_assertion_signed_by_another_key(
    platform: DevPlatform,
) -> None:
    forged = client_assertion(platform, key=OTHER_KEY, kid_key=TOOL_KEY)
    with pytest.raises(OAuthError, match="Signature"):
        platform.issue_access_token(token_form(forged))


def test_token_endpoint_refetches_the_tool_jwks_for_a_new_kid(
    platform: DevPlatform, tool_jwks: FakeToolJwks
) -> None:
    platform.issue_access_token(token_form(client_assertion(platform)))
    tool_jwks.keys.append(OTHER_KEY)

    platform.issue_access_token(token_form(client_assertion(platform, key=OTHER_KEY)))

    assert tool_jwks.fetches == 2


def test_token_endpoint_refuses_unknown_kid(platform: DevPlatform) -> None:
    with pytest.raises(OAuthError, match="not in the tool's JWKS"):
        platform.issue_access_token(
            token_form(client_assertion(platform, key=OTHER_KEY))
        )


def test_token_endpoint_makes_jti_single_use(platform: DevPlatform) -> None:
    assertion = client_assertion(platform)
    platform.issue_access_token(token_form(assertion))

    with pytest.raises(OAuthError, match="already used"):
        platform.issue_access_token(token_form(assertion))


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"grant_type": "password"}, "unsupported_grant_type"),
        ({"client_assertion_type": "basic"}, "invalid_request"),
        ({"client_assertion": ""}, "invalid_request"),
        (
            {"scope": "https://purl.imsglobal.org/spec/lti-ags/scope/all"},
            "invalid_scope",
        ),
        ({"scope": ""}, "invalid_scope"),
    ],
)
def test_token_endpoint_refuses_malformed_requests(
    platform: DevPlatform, changes: dict[str, str], code: str
) -> None:
    form = {**token_form(client_assertion(platform)), **changes}
    with pytest.raises(OAuthError) as caught:
        platform.issue_access_token(form)
    assert caught.value.code == code


def test_access_tokens_are_checked_for_scope(platform: DevPlatform) -> None:
    header = bearer(platform, SCOPE_SCORE)

    with pytest.raises(ServiceError) as forbidden:
        platform.check_access(header, [SCOPE_NRPS])
    with pytest.raises(ServiceError) as unknown:
        platform.check_access("Bearer at-nope", [SCOPE_SCORE])
    with pytest.raises(ServiceError) as missing:
        platform.check_access(None, [SCOPE_SCORE])
    assert (forbidden.value.status, unknown.value.status, missing.value.status) == (
        403,
        401,
        401,
    )


# ----------------------------------------------------------------------- AGS


@pytest.mark.parametrize(
    "field", ["userId", "timestamp", "activityProgress", "gradingProgress"]
)
def test_score_without_a_required_field_is_refused(
    platform: DevPlatform, field: str
) -> None:
    with pytest.raises(ServiceError) as caught:
        platform.post_score(
            COURSE, graded_lineitem_id(platform), score(**{field: DROP}), MEDIA_SCORE
        )
    assert caught.value.status == 400
    assert field in caught.value.description


def test_score_given_is_ignored_unless_fully_graded(platform: DevPlatform) -> None:
    item = graded_lineitem_id(platform)
    pending = platform.post_score(
        COURSE, item, score(gradingProgress="Pending"), MEDIA_SCORE
    )
    graded = platform.post_score(
        COURSE, item, score(timestamp="2025-03-01T10:00:01+00:00"), MEDIA_SCORE
    )

    assert pending.score_given is None
    assert graded.score_given == 7
    results = platform.list_results(COURSE, item)
    assert results[0]["resultScore"] == pytest.approx(70.0)
    assert results[0]["resultMaximum"] == 100.0
    assert results[0]["comment"] == "Next: pivot tables"


@pytest.mark.parametrize(
    "second",
    [
        "2025-03-01T10:00:00+00:00",
        "2025-03-01T10:00:00.900+00:00",
        "2025-03-01T11:00:00+02:00",
        "2025-03-01T09:59:59+00:00",
    ],
    ids=["same", "same-second", "same-instant-other-zone", "earlier"],
)
def test_score_not_strictly_later_by_one_second_is_a_409(
    platform: DevPlatform, second: str
) -> None:
    item = graded_lineitem_id(platform)
    platform.post_score(COURSE, item, score(), MEDIA_SCORE)

    with pytest.raises(ServiceError) as caught:
        platform.post_score(COURSE, item, score(timestamp=second), MEDIA_SCORE)
    assert caught.value.status == 409


def test_scores_for_other_users_or_later_seconds_are_accepted(
    platform: DevPlatform,
) -> None:
    item = graded_lineitem_id(platform)
    platform.post_score(COURSE, item, score(), MEDIA_SCORE)
    platform.post_score(COURSE, item, score(user_id=INSTRUCTOR.sub), MEDIA_SCORE)
    platform.post_score(
        COURSE, item, score(timestamp="2025-03-01T10:00:01Z", scoreGiven=9), MEDIA_SCORE
    )

    by_user = {r["userId"]: r for r in platform.list_results(COURSE, item)}
    assert by_user[LEARNER.sub]["resultScore"] == pytest.approx(90.0)
    assert len(platform.scores) == 3


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (score(), "application/json", 415),
        (score(user_id="stranger"), MEDIA_SCORE, 400),
        (score(activityProgress="Done"), MEDIA_SCORE, 400),
        (score(timestamp="2025-03-01T10:00:00"), MEDIA_SCORE, 400),
        (score(scoreMaximum=DROP), MEDIA_SCORE, 400),
        (score(scoreGiven=-1), MEDIA_SCORE, 400),
        ([score()], MEDIA_SCORE, 400),
    ],
    ids=["media-type", "not-member", "progress", "naive-time", "no-max", "neg", "list"],
)
def test_invalid_scores_are_refused(
    platform: DevPlatform, body: Any, content_type: str, status: int
) -> None:
    with pytest.raises(ServiceError) as caught:
        platform.post_score(COURSE, graded_lineitem_id(platform), body, content_type)
    assert caught.value.status == status
    assert platform.scores == []


def test_lineitems_are_created_validated_and_filtered(platform: DevPlatform) -> None:
    created = platform.create_lineitem(
        COURSE,
        {
            "label": "Placement",
            "scoreMaximum": 10,
            "tag": "placement",
            "resourceLinkId": "dev-link-open",
        },
    )
    with pytest.raises(ServiceError):
        platform.create_lineitem(COURSE, {"label": "x", "scoreMaximum": 0})
    with pytest.raises(ServiceError):
        platform.create_lineitem(
            COURSE, {"label": "x", "scoreMaximum": 1, "resourceLinkId": "?"}
        )

    assert created["id"].startswith(ISSUER + f"/ags/{COURSE}/lineitems/")
    assert platform.list_lineitems(COURSE, tag="placement") == [created]
    assert platform.list_lineitems(COURSE, resource_link_id="dev-link-open") == [
        created
    ]
    assert len(platform.list_lineitems(COURSE)) == 3


def test_memberships_list_the_roster_with_roles(platform: DevPlatform) -> None:
    container = platform.memberships(COURSE)

    names = {m["name"] for m in container["members"]}
    assert names == {"Ada Lovelace", "Grace Hopper", "Alan Turing"}
    assert container["context"]["id"] == COURSE
    learners = platform.memberships(COURSE, role=LEARNER.roles[0])["members"]
    assert [m["user_id"] for m in learners] == [LEARNER.sub]


# -------------------------------------------------------------- deep linking


def deep_link_response(
    platform: DevPlatform,
    *,
    key: rsa.RSAPrivateKey = TOOL_KEY,
    data: str | None = None,
    **changes: Any,
) -> str:
    request_claims = platform.id_token_claims(INSTRUCTOR, MESSAGE_DEEP_LINKING, "n")
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": platform.tool.client_id,
        "aud": platform.issuer,
        "iat": now,
        "exp": now + 300,
        "nonce": "dl-" + uuid.uuid4().hex,
        CLAIM_MESSAGE_TYPE: MESSAGE_DEEP_LINKING_RESPONSE,
        CLAIM_VERSION: "1.3.0",
        CLAIM_DEPLOYMENT_ID: platform.tool.deployment_id,
        CLAIM_DL_DATA: data or request_claims[CLAIM_DL_SETTINGS]["data"],
        CLAIM_DL_CONTENT_ITEMS: [
            {
                "type": "ltiResourceLink",
                "title": "Data literacy path",
                "url": TOOL_BASE + "/lti/launch",
                "custom": {"pathwise_module": "data-literacy"},
                "lineItem": {
                    "scoreMaximum": 100,
                    "label": "Data literacy",
                    "tag": "path",
                },
            }
        ],
    }
    for name, value in changes.items():
        if value is DROP:
            claims.pop(name)
        else:
            claims[name] = value
    return jwt.encode(
        claims, key, algorithm="RS256", headers={"kid": public_jwk(TOOL_KEY)["kid"]}
    )


def test_deep_link_response_is_verified_and_creates_a_graded_link(
    platform: DevPlatform,
) -> None:
    received = platform.receive_deep_link_response(deep_link_response(platform))

    assert received.content_items[0]["title"] == "Data literacy path"
    link = platform.links[received.created_links[0]]
    assert link.custom == {"pathwise_module": "data-literacy"}
    assert link.lineitem_id is not None
    assert platform.lineitems[link.lineitem_id].tag == "path"
    assert platform.deep_link_returns == [received]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"aud": "https://elsewhere.test"}, "invalid_jwt"),
        ({"nonce": DROP}, "invalid_jwt"),
        ({"iss": "unknown-client"}, "unknown_client"),
        ({CLAIM_MESSAGE_TYPE: "LtiResourceLinkRequest"}, "wrong_message_type"),
        ({CLAIM_VERSION: "1.1"}, "wrong_version"),
        ({CLAIM_DEPLOYMENT_ID: "other-deployment"}, "wrong_deployment"),
        ({CLAIM_DL_CONTENT_ITEMS: [{"title": "untyped"}]}, "invalid_items"),
        ({CLAIM_DL_DATA: "made-up"}, "bad_data"),
    ],
    ids=["aud", "nonce", "iss", "type", "version", "deployment", "items", "data"],
)
def test_deep_link_responses_that_break_the_spec_are_refused(
    platform: DevPlatform, changes: dict[str, Any], code: str
) -> None:
    with pytest.raises(DeepLinkError) as caught:
        platform.receive_deep_link_response(deep_link_response(platform, **changes))
    assert caught.value.code == code
    assert platform.deep_link_returns == []


def test_deep_link_response_signed_by_another_key_is_refused(
    platform: DevPlatform,
) -> None:
    with pytest.raises(DeepLinkError, match="Signature"):
        platform.receive_deep_link_response(deep_link_response(platform, key=OTHER_KEY))


def test_deep_link_response_cannot_be_replayed(platform: DevPlatform) -> None:
    token = deep_link_response(platform)
    platform.receive_deep_link_response(token)

    with pytest.raises(DeepLinkError) as caught:
        platform.receive_deep_link_response(token)
    assert caught.value.code == "replayed_nonce"
