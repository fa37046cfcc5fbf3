"""catalog's unit of work: the kit's (transaction, outbox, inbox), plus its repositories."""

from __future__ import annotations

from agentsuite_catalog.repositories.agents import Agents
from agentsuite_catalog.repositories.search import Search
from agentsuite_catalog.repositories.tasks import Tasks
from agentsuite_catalog.repositories.templates import Templates
from agentsuite_catalog.repositories.tenants import Tenants
from agentsuite_catalog.repositories.tools import Tools
from agentsuite_kit.db import UnitOfWork
from agentsuite_kit.db.scoped import ScopedConnection


class CatalogUow(UnitOfWork):
    def bind(self, session: ScopedConnection) -> None:
        super().bind(session)
        self.tools = Tools(session)
        self.agents = Agents(session)
        self.tasks = Tasks(session)
        self.templates = Templates(session)
        self.search = Search(session)
        self.tenants = Tenants(session)
