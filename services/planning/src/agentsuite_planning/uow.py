"""planning's unit of work: the kit's (transaction, outbox, inbox), plus its repositories."""

from __future__ import annotations

from agentsuite_kit.db import UnitOfWork
from agentsuite_kit.db.scoped import ScopedConnection
from agentsuite_planning.repositories.catalog import Catalog
from agentsuite_planning.repositories.citations import Citations
from agentsuite_planning.repositories.drafts import Drafts
from agentsuite_planning.repositories.labels import Labels
from agentsuite_planning.repositories.plans import Plans, Versions
from agentsuite_planning.repositories.prices import Prices
from agentsuite_planning.repositories.runs import Runs
from agentsuite_planning.repositories.schedules import Schedules, ScheduleTargets
from agentsuite_planning.repositories.templates import Templates
from agentsuite_planning.repositories.tenants import Tenants
from agentsuite_planning.repositories.triggers import Deliveries, TriggerRoutes, Triggers


class PlanningUow(UnitOfWork):
    def bind(self, session: ScopedConnection) -> None:
        super().bind(session)
        self.plans = Plans(session)
        self.versions = Versions(session)
        self.labels = Labels(session)
        self.tenants = Tenants(session)
        # --- feeds (plan-feeds) ---
        self.catalog = Catalog(session)
        self.prices = Prices(session)
        self.runs = Runs(session)
        # the forecast's past runs: `uow.history.of(plan_id)` (DESIGN.md's contract)
        self.history = self.runs
        self.citations = Citations(session)
        # drafting (owner: plan-drafting)
        self.drafts = Drafts(session)
        self.templates = Templates(session)
        # --- schedules (plan-schedules) ---
        self.schedules = Schedules(session)
        self.schedule_targets = ScheduleTargets(session)
        # --- triggers (owner: plan-triggers)
        self.triggers = Triggers(session)
        self.trigger_routes = TriggerRoutes(session)
        self.deliveries = Deliveries(session)
