"""llm-gateway's unit of work: the kit's, plus one repository per area."""

from __future__ import annotations

from uuid import UUID

from agentsuite_kit.db import UnitOfWork
from agentsuite_kit.db.changes import void_here
from agentsuite_kit.db.scoped import ScopedConnection
from agentsuite_llm_gateway.repositories.budgets import Budgets
from agentsuite_llm_gateway.repositories.calls import Calls, Usage
from agentsuite_llm_gateway.repositories.prompts import Prompts
from agentsuite_llm_gateway.repositories.providers import Models, Prices, Providers
from agentsuite_llm_gateway.repositories.requests import CacheEntries, Requests
from agentsuite_llm_gateway.repositories.routing import Aliases, Preferences, Rules

CATALOG_CHANNEL = "llm_catalog"
"""The NOTIFY channel of catalogue changes; the payload is the tenant id."""


class GatewayUow(UnitOfWork):
    def bind(self, session: ScopedConnection) -> None:
        super().bind(session)
        self.providers = Providers(session)
        self.models = Models(session)
        self.prices = Prices(session)
        self.aliases = Aliases(session)
        self.rules = Rules(session)
        self.preferences = Preferences(session)
        self.budgets = Budgets(session)
        self.prompts = Prompts(session)
        self.calls = Calls(session)
        self.usage = Usage(session)
        self.requests = Requests(session)
        self.cache = CacheEntries(session)

    def catalog_changed(self, tenant_id: UUID | None = None) -> None:
        """The tenant's catalogue (providers, models, prices, routes, budget rules) moves
        with this transaction (`tenant_id`: the unit's own tenant if None): every admin
        write calls it before its commit. This process's copies are voided now and again
        once committed (a read in between saw the state before); the other processes hear
        it by NOTIFY at commit."""
        tenant = tenant_id if tenant_id is not None else self.tenant_id
        assert tenant is not None, "a catalogue belongs to a tenant"
        void_here(CATALOG_CHANNEL, tenant)
        self.on_commit(lambda: void_here(CATALOG_CHANNEL, tenant))
        self.notify(CATALOG_CHANNEL, str(tenant))
