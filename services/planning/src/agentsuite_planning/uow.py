"""planning's unit of work: the kit's (transaction, outbox, inbox), plus its repositories."""

from __future__ import annotations

from agentsuite_kit.db import UnitOfWork
from agentsuite_kit.db.scoped import ScopedConnection
from agentsuite_planning.repositories.items import Items
from agentsuite_planning.repositories.tenants import Tenants
from agentsuite_planning.repositories.triggers import Deliveries, TriggerRoutes, Triggers


class PlanningUow(UnitOfWork):
    def bind(self, session: ScopedConnection) -> None:
        super().bind(session)
        self.items = Items(session)
        self.tenants = Tenants(session)
        # --- triggers (owner: plan-triggers)
        self.triggers = Triggers(session)
        self.trigger_routes = TriggerRoutes(session)
        self.deliveries = Deliveries(session)
