"""Tool signing keys: generated, encrypted at rest, published in JWKS, rotated with a grace period."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import InvalidToken
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwcrypto.jwk import JWK
from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_tool.infra.crypto import secret_box
from lti_tool.infra.db import utcnow
from lti_tool.infra.models import ToolKey
from xapi.models import LrsConnection  # xapi's table; the secret box is ours


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_pem: str
    public_pem: str


def _generate_pem() -> tuple[str, str]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    public_pem = (
        private.public_key()
        .public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        .decode("ascii")
    )
    return private_pem, public_pem


def public_jwk_for(public_pem: str) -> dict[str, Any]:
    jwk = JWK.from_pem(public_pem.encode("ascii"))
    data: dict[str, Any] = json.loads(jwk.export_public())
    data["kid"] = jwk.thumbprint()
    data["alg"] = "RS256"
    data["use"] = "sig"
    return data


def create_signing_key(session: Session, *, now: dt.datetime | None = None) -> ToolKey:
    """Add a new active signing key; the previous active key stays published for a grace period."""
    private_pem, public_pem = _generate_pem()
    jwk = public_jwk_for(public_pem)
    key = ToolKey(
        kid=jwk["kid"],
        private_key_encrypted=secret_box().encrypt(private_pem),
        public_jwk=jwk,
        created_at=now or utcnow(),
    )
    session.add(key)
    session.flush()
    return key


def rotate_signing_key(
    session: Session, *, grace_days: int, now: dt.datetime | None = None
) -> ToolKey:
    """Start signing with a new key; keep older keys in JWKS until ``grace_days`` pass.

    Platforms cache our JWKS; retiring a key immediately would break in-flight
    service calls and deep-link responses signed a moment earlier.
    """
    moment = now or utcnow()
    for old in active_keys(session):
        old.superseded_at = moment
        old.retire_after = moment + dt.timedelta(days=grace_days)
    return create_signing_key(session, now=moment)


def active_keys(session: Session) -> list[ToolKey]:
    return list(
        session.scalars(
            select(ToolKey)
            .where(ToolKey.superseded_at.is_(None))
            .order_by(ToolKey.created_at)
        )
    )


def current_signing_key(session: Session) -> SigningKey:
    """The newest active key, created on first use so a fresh install just works.

    The public PEM comes from the stored JWK: parsing the private key (an RSA
    consistency check of tens of milliseconds) is left to the code that signs.
    """
    keys = active_keys(session)
    key = keys[-1] if keys else create_signing_key(session)
    private_pem = secret_box().decrypt(key.private_key_encrypted)
    public_pem = JWK(**key.public_jwk).export_to_pem().decode("ascii")
    return SigningKey(kid=key.kid, private_pem=private_pem, public_pem=public_pem)


def published_jwks(
    session: Session, *, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Active keys plus superseded keys still inside their grace period."""
    moment = now or utcnow()
    keys = session.scalars(select(ToolKey).order_by(ToolKey.created_at)).all()
    published = [
        k.public_jwk for k in keys if k.retire_after is None or k.retire_after > moment
    ]
    return {"keys": published}


def prune_retired_keys(session: Session, *, now: dt.datetime | None = None) -> int:
    moment = now or utcnow()
    retired = session.scalars(
        select(ToolKey).where(
            ToolKey.retire_after.is_not(None), ToolKey.retire_after <= moment
        )
    ).all()
    for key in retired:
        session.delete(key)
    return len(retired)


@dataclass(frozen=True)
class ReencryptReport:
    signing_keys: int
    lrs_secrets: int


def reencrypt_secrets(
    session: Session, *, progress: Callable[[str, int, int], None] | None = None
) -> ReencryptReport:
    """Re-encrypt every stored secret under the first PATHWISE_ENCRYPTION_KEY.

    After it, keys further down the list decrypt nothing and can be dropped. One
    transaction: if any secret cannot be decrypted with the configured keys, the
    error names it and nothing is written.
    """
    box = secret_box()
    tool_keys = list(session.scalars(select(ToolKey).order_by(ToolKey.id)))
    for done, key in enumerate(tool_keys, 1):
        key.private_key_encrypted = _rotated(
            box.rotate, key.private_key_encrypted, f"signing key {key.kid}"
        )
        if progress:
            progress("signing keys", done, len(tool_keys))
    connections = list(
        session.scalars(select(LrsConnection).order_by(LrsConnection.id))
    )
    for done, connection in enumerate(connections, 1):
        connection.secret_encrypted = _rotated(
            box.rotate,
            connection.secret_encrypted,
            f"LRS connection {connection.name!r}",
        )
        if progress:
            progress("LRS secrets", done, len(connections))
    session.flush()
    return ReencryptReport(signing_keys=len(tool_keys), lrs_secrets=len(connections))


def _rotated(rotate: Callable[[str], str], token: str, what: str) -> str:
    try:
        return rotate(token)
    except InvalidToken:
        raise ValueError(
            f"{what} cannot be decrypted with any key in PATHWISE_ENCRYPTION_KEY; "
            "nothing was re-encrypted"
        ) from None
