"""planning's unit of work: the kit's (transaction, outbox, inbox), plus its repositories."""

from __future__ import annotations

from agentsuite_kit.db import UnitOfWork
from agentsuite_kit.db.scoped import ScopedConnection
from agentsuite_planning.repositories.drafts import Drafts
from agentsuite_planning.repositories.items import Items
from agentsuite_planning.repositories.templates_pending import Templates
from agentsuite_planning.repositories.tenants import Tenants


class PlanningUow(UnitOfWork):
    def bind(self, session: ScopedConnection) -> None:
        super().bind(session)
        self.items = Items(session)
        self.tenants = Tenants(session)
        # drafting (owner: plan-drafting)
        self.drafts = Drafts(session)
        self.templates = Templates(session)
