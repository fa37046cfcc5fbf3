"""The exact-match response cache: keyed by (model, prompt version, normalized request)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from agentsuite_llm_gateway.settings import GatewaySettings
from agentsuite_llm_gateway.uow import GatewayUow


class ResponseCache:
    def __init__(self, settings: GatewaySettings, uow: Callable[[UUID | None], GatewayUow]) -> None:
        self.settings = settings
        self._uow = uow

    @staticmethod
    def key(requested: str, prompt_version: str | None, body: dict[str, Any]) -> bytes:
        """sha256 of the normalized request (key order, defaults, `stream` and `user` aside)."""
        raise NotImplementedError

    async def get(self, tenant_id: UUID, key: bytes, scope: str) -> dict[str, Any] | None:
        raise NotImplementedError

    async def put(
        self, tenant_id: UUID, key: bytes, scope: str, model: str, body: dict[str, Any], ttl: float
    ) -> None:
        raise NotImplementedError
