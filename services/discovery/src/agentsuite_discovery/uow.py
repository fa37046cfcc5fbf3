"""discovery's unit of work: the kit's (transaction, outbox, inbox), plus its repositories."""

from __future__ import annotations

from agentsuite_discovery.repositories.catalog import Catalog
from agentsuite_discovery.repositories.conversation import Asked, Extractions, Turns
from agentsuite_discovery.repositories.objectives import Objectives
from agentsuite_discovery.repositories.sessions import Sessions
from agentsuite_discovery.repositories.tenants import Tenants
from agentsuite_kit.db import UnitOfWork
from agentsuite_kit.db.scoped import ScopedConnection


class DiscoveryUow(UnitOfWork):
    def bind(self, session: ScopedConnection) -> None:
        super().bind(session)
        self.objectives = Objectives(session)
        self.sessions = Sessions(session)
        self.turns = Turns(session)
        self.extractions = Extractions(session)
        self.asked = Asked(session)
        self.tenants = Tenants(session)
        self.catalog = Catalog(session)
