"""execution's unit of work: the kit's, plus one repository per area."""

from __future__ import annotations

from agentsuite_execution.repositories.executions import Executions
from agentsuite_execution.repositories.projections import Agents, Models, Plans, Tools
from agentsuite_execution.repositories.roles import Roles
from agentsuite_execution.repositories.secrets import Secrets
from agentsuite_execution.repositories.steps import Steps
from agentsuite_execution.repositories.tenants import Tenants
from agentsuite_execution.repositories.timers import Approvals, LlmCalls, Log, Timers
from agentsuite_kit.db import UnitOfWork
from agentsuite_kit.db.scoped import ScopedConnection


class ExecutionUow(UnitOfWork):
    def bind(self, session: ScopedConnection) -> None:
        super().bind(session)
        self.plans = Plans(session)
        self.tools = Tools(session)
        self.agents = Agents(session)
        self.models = Models(session)
        self.executions = Executions(session)
        self.steps = Steps(session)
        self.timers = Timers(session)
        self.approvals = Approvals(session)
        self.llm_calls = LlmCalls(session)
        self.log = Log(session)
        self.roles = Roles(session)
        self.secrets = Secrets(session)
        self.tenants = Tenants(session)

    async def flush_events(self) -> None:
        """Before the kit writes the outbox: the log rows in one statement, and the step
        counts the runs' repository gathered."""
        await self.log.flush()
        await self.executions.flush()
        await super().flush_events()
