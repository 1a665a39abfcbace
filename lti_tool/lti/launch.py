"""LTI protocol: id_token validation (IMS security framework) in a fixed order of checks.

pylti1p3 verifies the signature against the platform's JWKS; around it we add what
it lacks: checks in a fixed order with one reason code each, a clock-skew leeway,
``aud``/``azp`` against the registration, single-use state and nonces in the shared
store (``lti_tool.lti.login_state``), and per-tenant deployments.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any, NoReturn

import requests
from pylti1p3.exception import LtiException, LtiKeyException
from pylti1p3.message_launch import MessageLaunch
from pylti1p3.request import Request as LtiRequest
from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_tool.infra.models import UNKNOWN_DEPLOYMENT_AUTO, Deployment, Registration
from lti_tool.infra.outbound import outbound_session
from lti_tool.infra.store import ExpiringStore
from lti_tool.lti.claims import (
    CLAIM_DEEP_LINKING,
    CLAIM_DEPLOYMENT_ID,
    CLAIM_MESSAGE_TYPE,
    CLAIM_TARGET_LINK_URI,
    MESSAGE_DEEP_LINKING,
    MESSAGE_RESOURCE_LINK,
    validate_message_claims,
)
from lti_tool.lti.errors import LaunchRejected
from lti_tool.lti.link_urls import LinkPolicy, check_return_url, check_target_link_uri
from lti_tool.lti.login_state import consume_nonce, consume_state, pending_login
from lti_tool.lti.platform_keys import platform_key_set
from lti_tool.lti.token_limits import (
    MAX_HEADER_CHARS,
    check_stored_claims,
    decode_segment,
)
from lti_tool.lti.tool_conf import DatabaseToolConf, tenant_row, to_lti_registration

log = logging.getLogger("pathwise.launch")


class _FormRequest(LtiRequest):
    """The minimum of a request pylti1p3 needs, decoupled from Flask."""

    def __init__(self, form: Mapping[str, str], secure: bool) -> None:
        self._form = dict(form)
        self._secure = secure

    @property
    def session(self) -> dict[str, Any]:
        return {}

    def is_secure(self) -> bool:
        return self._secure

    def get_param(self, key: str) -> str:
        return self._form.get(key, "")


class _NoBrowserSession:
    """Stands in for pylti1p3's session and cookie services, which must not be used.

    pylti1p3 would keep the login state in a server-side session and accept a nonce
    through ``SessionService.check_nonce``. Pathwise does neither here: state and
    nonce are consumed once in the shared store by ``consume_nonce`` and
    ``consume_state``. Any call into this object is a bug, so it fails loudly
    rather than answering "valid".
    """

    def __getattr__(self, name: str) -> NoReturn:
        if name.startswith("__"):
            raise AttributeError(name)
        raise RuntimeError(
            f"pylti1p3 asked its session/cookie service for {name!r}: launch state "
            "and nonces are checked by lti_tool.lti.login_state, not by pylti1p3"
        )


class _SignatureVerifier(MessageLaunch[Any, Any, Any, Any]):
    """pylti1p3's launch used for one check only: the id_token's signature.

    Its own nonce and state checks are switched off (they raise) so they cannot be
    mistaken for, or run instead of, ours in ``lti_tool.lti.login_state``.
    """

    def _get_request_param(self, key: str) -> str:
        value: str = self._request.get_param(key)
        return value

    def validate_nonce(self) -> NoReturn:
        raise RuntimeError("nonces are consumed by login_state.consume_nonce")

    def validate_state(self) -> NoReturn:
        raise RuntimeError("state is consumed by login_state.consume_state")


def _decode_unverified(id_token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    parts = id_token.split(".")
    if len(parts) != 3:
        raise LaunchRejected(
            "malformed_token", "The id_token is not a JWT (three parts)."
        )
    return (
        decode_segment(parts[0], max_chars=MAX_HEADER_CHARS),
        decode_segment(parts[1]),
    )


def validate_launch(
    session: Session,
    store: ExpiringStore,
    *,
    form: Mapping[str, str],
    state_cookie: str | None,
    platform_storage_state: str | None,
    leeway_s: float,
    secure: bool,
    links: LinkPolicy,
    key_store: ExpiringStore | None = None,
    requests_session: requests.Session | None = None,
    now: float | None = None,
) -> tuple[Registration, Deployment, dict[str, Any]]:
    """Validate an id_token POST; return the registration, tenant and verified claims.

    Raises LaunchRejected with one reason code per failure, checked in this order:
    token shape (size, JSON depth), registration (iss, aud/azp), signature (kid),
    time (exp/iat with leeway), nonce (single use), state (exists, browser-bound),
    message (rules, stored claim sizes, target_link_uri, deep-link return URL),
    deployment.

    ``key_store`` keeps the platform's JWKS and its refetch cooldown; it must
    outlive this launch's transaction (a rejected launch rolls ``store`` back, and
    forged kids would then refetch every time). It defaults to ``store``.
    """
    moment = time.time() if now is None else now
    id_token = form.get("id_token") or ""
    state = form.get("state") or ""
    if form.get("error") and not id_token:
        # OIDC error response: the LMS refused the login and says why.
        detail = f"{form['error']} {form.get('error_description') or ''}".strip()
        raise LaunchRejected("platform_error", f"The LMS refused the login: {detail}")
    if not id_token:
        raise LaunchRejected("malformed_token", "The launch carried no id_token.")
    if not state:
        raise LaunchRejected("missing_state", "The launch carried no state parameter.")
    header, body = _decode_unverified(id_token)
    if not header.get("kid"):
        raise LaunchRejected("missing_kid", "The id_token header has no key id (kid).")
    if not isinstance(body.get("iss"), str) or not body.get("iss"):
        raise LaunchRejected(
            "missing_claim", "The launch is missing the required claim iss."
        )
    iss: str = body["iss"]
    aud = body.get("aud")
    if aud in (None, "", []):
        raise LaunchRejected(
            "missing_claim", "The launch is missing the required claim aud."
        )
    audiences = (
        [aud] if isinstance(aud, str) else [a for a in aud if isinstance(a, str)]
    )
    azp = body.get("azp")
    if len(audiences) > 1 and not azp:
        raise LaunchRejected(
            "wrong_audience", "aud lists several clients but azp is missing."
        )
    client_id = azp if isinstance(azp, str) and azp else audiences[0]
    if client_id not in audiences:
        raise LaunchRejected(
            "wrong_audience", "azp is not one of the token's audiences."
        )

    conf = DatabaseToolConf(session)
    registration = conf.registration_row(iss, client_id)
    if registration is None:
        if (
            session.scalar(select(Registration.id).where(Registration.issuer == iss))
            is None
        ):
            raise LaunchRejected(
                "unknown_issuer", f"No platform is registered as {iss}.", 403
            )
        raise LaunchRejected(
            "unknown_client",
            f"Issuer {iss} has no registration for client {client_id}.",
            403,
        )

    state_record = pending_login(store, state)
    if (
        state_record is not None
        and state_record.get("registration_id") != registration.id
    ):
        # The login was started for another client of this LMS: the token is not for us.
        raise LaunchRejected(
            "wrong_audience",
            "The id_token's audience is not the client that started this login.",
        )

    # One guarded client for whatever this check fetches (pylti1p3 included).
    http = requests_session or outbound_session()
    verifier = _SignatureVerifier(
        _FormRequest(form, secure),
        conf,
        session_service=_NoBrowserSession(),
        cookie_service=_NoBrowserSession(),
        requests_session=http,
    )
    verifier.set_jwt({"header": header, "body": body})  # type: ignore[typeddict-item]
    verifier.set_jwt_verify_options(
        {
            "verify_aud": False,
            "verify_exp": False,
            "verify_iat": False,
            "verify_nbf": False,
        }
    )
    lti_registration = to_lti_registration(session, registration, with_tool_key=False)
    if registration.key_set is None and registration.key_set_url:
        lti_registration.set_key_set(
            platform_key_set(
                key_store or store,
                registration.key_set_url,
                kid=str(header["kid"]),
                requests_session=http,
            )  # type: ignore[arg-type]
        )
    verifier._registration = lti_registration
    try:
        verifier.validate_jwt_signature()
    except LtiKeyException as exc:
        text = str(exc)
        if "Unable to find public key" in text:
            raise LaunchRejected(
                "unknown_kid",
                f"No platform key matches kid {header.get('kid')!r}.",
                401,
            ) from None
        raise LaunchRejected("platform_keys_unavailable", text, 502) from None
    except LtiException as exc:
        raise LaunchRejected(
            "bad_signature", f"Signature check failed: {exc}", 401
        ) from None

    exp, iat = body.get("exp"), body.get("iat")
    if not isinstance(exp, int | float):
        raise LaunchRejected(
            "missing_claim", "The launch is missing the required claim exp."
        )
    if not isinstance(iat, int | float):
        raise LaunchRejected(
            "missing_claim", "The launch is missing the required claim iat."
        )
    if exp + leeway_s < moment:
        raise LaunchRejected("expired", "The id_token has expired.", 401)
    if iat - leeway_s > moment:
        raise LaunchRejected(
            "iat_in_future", "The id_token was issued in the future.", 401
        )

    nonce = consume_nonce(store, issuer=iss, nonce=body.get("nonce"))
    consume_state(
        store,
        state=state,
        nonce=nonce,
        state_cookie=state_cookie,
        platform_storage_state=platform_storage_state,
    )

    validate_message_claims(body)
    _check_message_links(body, registration, links)
    deployment_id = body.get(CLAIM_DEPLOYMENT_ID)
    if not isinstance(deployment_id, str) or not deployment_id:
        raise LaunchRejected(
            "missing_claim", "The launch is missing the required claim deployment_id."
        )
    tenant = _launch_tenant(session, registration, iss, deployment_id)
    return registration, tenant, body


def _check_message_links(
    body: dict[str, Any], registration: Registration, links: LinkPolicy
) -> None:
    """What the launch would store or send a browser to: sizes, target, return URL."""
    check_stored_claims(body)
    message_type = body.get(CLAIM_MESSAGE_TYPE)
    target = body.get(CLAIM_TARGET_LINK_URI)
    if target is None and message_type == MESSAGE_RESOURCE_LINK:
        raise LaunchRejected(
            "missing_claim", "The launch is missing the required claim target_link_uri."
        )
    if target is not None:
        check_target_link_uri(target, launch_url=links.launch_url)
    if message_type == MESSAGE_DEEP_LINKING:
        check_return_url(
            body[CLAIM_DEEP_LINKING].get("deep_link_return_url"),
            registration,
            policy=links,
        )


def _launch_tenant(
    session: Session, registration: Registration, iss: str, deployment_id: str
) -> Deployment:
    """The launch's tenant; an unknown deployment is refused or, by policy, registered."""
    tenant = tenant_row(session, registration.id, deployment_id)
    if tenant is None:
        if registration.unknown_deployment_policy != UNKNOWN_DEPLOYMENT_AUTO:
            raise LaunchRejected(
                "unknown_deployment",
                f"Deployment {deployment_id} is not registered for this platform.",
                403,
            )
        tenant = Deployment(
            registration_id=registration.id,
            deployment_id=deployment_id,
            name=f"{registration.name or iss} / {deployment_id}",
            auto_registered=True,
        )
        session.add(tenant)
        session.flush()
        log.info("deployment auto-registered: %s %s", iss, deployment_id)
    elif not tenant.active:
        raise LaunchRejected(
            "unknown_deployment", "This deployment has been disabled.", 403
        )
    return tenant
