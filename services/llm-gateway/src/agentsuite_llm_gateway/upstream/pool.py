"""The adapters of every provider, over pooled aiohttp sessions behind the SSRF guard."""

from __future__ import annotations

from uuid import UUID

from agentsuite_llm_gateway.crypto import Cipher
from agentsuite_llm_gateway.domain.catalog import Provider
from agentsuite_llm_gateway.settings import GatewaySettings
from agentsuite_llm_gateway.upstream.base import Adapter


class Upstreams:
    def __init__(self, settings: GatewaySettings, cipher: Cipher) -> None:
        self.settings = settings
        self.cipher = cipher

    def adapter(self, provider: Provider) -> Adapter:
        """The adapter for `provider`'s kind, on its connection pool."""
        raise NotImplementedError

    def credential(self, tenant_id: UUID, provider: Provider) -> str | None:
        """The provider's decrypted secret (remembered per provider version), or None."""
        raise NotImplementedError

    async def aclose(self) -> None:
        """Close every session."""
