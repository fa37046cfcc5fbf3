"""planning's unit of work: the kit's (transaction, outbox, inbox), plus its repositories."""

from __future__ import annotations

from agentsuite_kit.db import UnitOfWork
from agentsuite_kit.db.scoped import ScopedConnection
from agentsuite_planning.repositories.labels import Labels
from agentsuite_planning.repositories.plans import Plans, Versions
from agentsuite_planning.repositories.tenants import Tenants


class PlanningUow(UnitOfWork):
    def bind(self, session: ScopedConnection) -> None:
        super().bind(session)
        self.plans = Plans(session)
        self.versions = Versions(session)
        self.labels = Labels(session)
        self.tenants = Tenants(session)
