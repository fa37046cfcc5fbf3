"""Provider credentials at rest: the kit's AES-256-GCM sealing (`agentsuite_kit.sealing`),
associated data bound to (tenant, provider). Rotation: add a key, make it active, restart;
the re-encryption job (`handlers.providers.reencrypt`) moves old rows meanwhile readable.
"""

from __future__ import annotations

from uuid import UUID

from agentsuite_kit.sealing import Sealer, SealError
from agentsuite_llm_gateway.settings import GatewaySettings

_AAD = b"llm-gateway/provider-credential/v1|"

CredentialError = SealError
"""A credential that cannot be opened. The message never contains the secret."""


def associated_data(tenant_id: UUID, provider_id: UUID) -> bytes:
    # binding the row's identity: a blob copied to another provider or tenant fails to open
    return _AAD + str(tenant_id).encode() + b"|" + str(provider_id).encode()


class Cipher:
    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self._sealer = Sealer(settings.credential_keys, settings.credential_key_id)

    @property
    def key_id(self) -> str:
        """The active key's id: new and re-encrypted credentials are sealed under it."""
        return self._sealer.key_id

    @key_id.setter
    def key_id(self, value: str) -> None:
        # kept assignable as before the kit's Sealer (a rotation test activates a key so)
        self._sealer.key_id = value

    def seal(self, tenant_id: UUID, provider_id: UUID, secret: str) -> tuple[bytes, str]:
        """(ciphertext, key id) of `secret` under the active key."""
        return self._sealer.seal(associated_data(tenant_id, provider_id), secret)

    def open(self, tenant_id: UUID, provider_id: UUID, blob: bytes, key_id: str) -> str:
        """The secret; raises if the key is unknown or the data was moved or altered."""
        return self._sealer.open(
            associated_data(tenant_id, provider_id),
            blob,
            key_id,
            what=f"the credential of provider {provider_id}",
        )

    def stale(self, key_id: str | None) -> bool:
        """Whether a row under `key_id` should be re-encrypted under the active key."""
        return self._sealer.stale(key_id)
