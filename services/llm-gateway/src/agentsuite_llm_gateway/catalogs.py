"""Each tenant's routing catalogue, read from the database and kept in memory until a
change notification (or `config_ttl`) says it is stale."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from agentsuite_llm_gateway.domain.catalog import Catalog
from agentsuite_llm_gateway.settings import GatewaySettings
from agentsuite_llm_gateway.uow import GatewayUow


class Catalogs:
    def __init__(self, settings: GatewaySettings, uow: Callable[[UUID | None], GatewayUow]) -> None:
        self.settings = settings
        self._uow = uow

    async def get(self, tenant_id: UUID) -> Catalog:
        """The tenant's catalogue, the built-in `local` provider and default aliases included."""
        raise NotImplementedError

    def forget(self, tenant_id: UUID) -> None:
        """Drop this process's copy (admin writes call it; NOTIFY tells the others)."""

    async def start(self) -> None:
        """Begin listening for change notifications."""

    async def aclose(self) -> None:
        """Stop listening."""
