"""Use case: re-encrypt every stored secret under the newest encryption key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cryptography.fernet import InvalidToken
from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_tool.infra.crypto import secret_box
from lti_tool.infra.models import ToolKey
from xapi.models import LrsConnection


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
    error names it and nothing is written. Tool signing keys and LRS passwords
    belong to different packages, hence a use case rather than a key service.
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
