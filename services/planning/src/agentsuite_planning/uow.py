"""planning's unit of work: the kit's (transaction, outbox, inbox), plus its repositories."""

from __future__ import annotations

from agentsuite_kit.db import UnitOfWork
from agentsuite_kit.db.scoped import ScopedConnection
from agentsuite_planning.repositories.items import Items
from agentsuite_planning.repositories.schedule_ports import NoRuns, PinnedOnly
from agentsuite_planning.repositories.schedules import Schedules
from agentsuite_planning.repositories.tenants import Tenants


class PlanningUow(UnitOfWork):
    def bind(self, session: ScopedConnection) -> None:
        super().bind(session)
        self.items = Items(session)
        self.tenants = Tenants(session)
        # schedules (plan-schedules); `runs` and `schedule_targets` are placeholders until
        # plan-feeds and plan-service bind theirs under these names
        self.schedules = Schedules(session)
        self.runs = NoRuns(session)
        self.schedule_targets = PinnedOnly(session)
