"""Secrets at rest: Fernet encryption with key rotation (MultiFernet)."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretBox:
    """Encrypts secrets before they reach the database; the first key encrypts."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is required")
        self._fernet = MultiFernet([Fernet(k.encode("ascii")) for k in keys])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise ValueError(
                "a stored secret cannot be decrypted with the configured "
                "PATHWISE_ENCRYPTION_KEY (was the key changed without keeping the old one?)"
            ) from None

    def rotate(self, token: str) -> str:
        """Re-encrypt under the newest key."""
        return self._fernet.rotate(token.encode("ascii")).decode("ascii")


_box: SecretBox | None = None


def configure_secrets(keys: tuple[str, ...]) -> None:
    global _box
    _box = SecretBox(keys)


def secret_box() -> SecretBox:
    if _box is None:
        raise RuntimeError(
            "secrets not configured: call configure_secrets(settings.encryption_keys)"
        )
    return _box
