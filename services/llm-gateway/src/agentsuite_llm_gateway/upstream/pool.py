"""The adapters of every provider, over pooled aiohttp sessions behind the SSRF guard."""

from __future__ import annotations

from uuid import UUID

from agentsuite_llm_gateway.crypto import Cipher
from agentsuite_llm_gateway.domain.catalog import Provider, ProviderKind
from agentsuite_llm_gateway.settings import GatewaySettings
from agentsuite_llm_gateway.upstream.base import Adapter, Failure, UpstreamError
from agentsuite_llm_gateway.upstream.local import LocalAdapter
from agentsuite_llm_gateway.upstream.openai import OpenAIAdapter
from agentsuite_llm_gateway.upstream.transport import Transport

SECRETS_MAX = 10_000  # decrypted credentials remembered; past it the memo starts over


class Upstreams:
    def __init__(self, settings: GatewaySettings, cipher: Cipher) -> None:
        self.settings = settings
        self.cipher = cipher
        self.transport = Transport(settings)
        # adapters are stateless (the provider comes with each call): one per kind
        self.adapters: dict[ProviderKind, Adapter] = {
            ProviderKind.OPENAI: OpenAIAdapter(self.transport),
            ProviderKind.LOCAL: LocalAdapter(),
        }
        # keyed by the ciphertext itself, so a rotated or replaced credential is a miss
        self.secrets: dict[tuple[UUID, UUID, bytes, str], str] = {}

    def adapter(self, provider: Provider) -> Adapter:
        """The adapter for `provider`'s kind, on its connection pool."""
        adapter = self.adapters.get(provider.kind)
        if adapter is None:
            if provider.kind is not ProviderKind.ANTHROPIC:
                raise UpstreamError(Failure.CONNECT, f"no adapter for kind {provider.kind}")
            # imported on first use: its translation tables are not needed by most processes
            from agentsuite_llm_gateway.upstream.anthropic import AnthropicAdapter

            adapter = self.adapters[provider.kind] = AnthropicAdapter(self.transport)
        return adapter

    def credential(self, tenant_id: UUID, provider: Provider) -> str | None:
        """The provider's decrypted secret (remembered per provider version), or None."""
        if provider.credential is None:
            return None
        key = (
            tenant_id,
            provider.provider_id,
            provider.credential,
            provider.credential_key_id or "",
        )
        secret = self.secrets.get(key)
        if secret is None:
            try:
                secret = self.cipher.open(
                    tenant_id, provider.provider_id, provider.credential, key[3]
                )
            except Exception:
                # never the cause: it may quote the ciphertext; the router falls back
                raise UpstreamError(
                    Failure.CONNECT,
                    f"provider {provider.name}: its credential cannot be decrypted "
                    "(unknown key id or altered data)",
                ) from None
            if len(self.secrets) >= SECRETS_MAX:
                self.secrets.clear()
            self.secrets[key] = secret
        return secret

    async def aclose(self) -> None:
        """Close every session."""
        await self.transport.aclose()
