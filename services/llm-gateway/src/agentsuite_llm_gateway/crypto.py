"""Provider credentials at rest: AES-256-GCM, associated data bound to (tenant, provider).

The stored blob is nonce (12 random bytes) || ciphertext+tag; the key id is kept beside it
in its own column, so a rotation (add a key, make it active, restart) leaves every old row
readable while the re-encryption job moves them to the new key.
"""

from __future__ import annotations

import base64
import os
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from agentsuite_llm_gateway.settings import GatewaySettings

_AAD = b"llm-gateway/provider-credential/v1|"
_NONCE = 12


class CredentialError(Exception):
    """A credential that cannot be opened. The message never contains the secret."""


def associated_data(tenant_id: UUID, provider_id: UUID) -> bytes:
    # binding the row's identity: a blob copied to another provider or tenant fails to open
    return _AAD + str(tenant_id).encode() + b"|" + str(provider_id).encode()


class Cipher:
    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self._keys = {
            kid: AESGCM(base64.b64decode(key.get_secret_value()))
            for kid, key in settings.credential_keys.items()
        }
        self.key_id = settings.credential_key_id

    def seal(self, tenant_id: UUID, provider_id: UUID, secret: str) -> tuple[bytes, str]:
        """(ciphertext, key id) of `secret` under the active key."""
        nonce = os.urandom(_NONCE)
        sealed = self._keys[self.key_id].encrypt(
            nonce, secret.encode("utf-8"), associated_data(tenant_id, provider_id)
        )
        return nonce + sealed, self.key_id

    def open(self, tenant_id: UUID, provider_id: UUID, blob: bytes, key_id: str) -> str:
        """The secret; raises if the key is unknown or the data was moved or altered."""
        key = self._keys.get(key_id)
        if key is None:
            raise CredentialError(f"credential key {key_id!r} is not configured")
        if len(blob) < _NONCE + 16:
            raise CredentialError("credential blob is truncated")
        try:
            plain = key.decrypt(
                blob[:_NONCE], blob[_NONCE:], associated_data(tenant_id, provider_id)
            )
        except InvalidTag:
            raise CredentialError(
                f"credential of provider {provider_id} does not open under key {key_id!r}"
            ) from None
        return plain.decode("utf-8")

    def stale(self, key_id: str | None) -> bool:
        """Whether a row under `key_id` should be re-encrypted under the active key."""
        return key_id is not None and key_id != self.key_id
