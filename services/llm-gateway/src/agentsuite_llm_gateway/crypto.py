"""Provider credentials at rest: AES-256-GCM, associated data bound to (tenant, provider)."""

from __future__ import annotations

from uuid import UUID

from agentsuite_llm_gateway.settings import GatewaySettings


class Cipher:
    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings

    def seal(self, tenant_id: UUID, provider_id: UUID, secret: str) -> tuple[bytes, str]:
        """(ciphertext, key id) of `secret` under the active key."""
        raise NotImplementedError

    def open(self, tenant_id: UUID, provider_id: UUID, blob: bytes, key_id: str) -> str:
        """The secret; raises if the key is unknown or the data was moved or altered."""
        raise NotImplementedError
