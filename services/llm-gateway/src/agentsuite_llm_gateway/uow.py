"""llm-gateway's unit of work: the kit's, plus one repository per area."""

from __future__ import annotations

from agentsuite_kit.db import UnitOfWork
from agentsuite_kit.db.scoped import ScopedConnection
from agentsuite_llm_gateway.repositories.budgets import Budgets
from agentsuite_llm_gateway.repositories.calls import Calls, Usage
from agentsuite_llm_gateway.repositories.prompts import Prompts
from agentsuite_llm_gateway.repositories.providers import Models, Prices, Providers
from agentsuite_llm_gateway.repositories.requests import CacheEntries, Requests
from agentsuite_llm_gateway.repositories.routing import Aliases, Preferences, Rules


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
