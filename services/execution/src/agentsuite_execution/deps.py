"""What handlers, routes and the engine share beside the unit of work: one per process."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from agentsuite_execution.settings import ExecutionSettings
from agentsuite_execution.tools.credentials import SecretBox
from agentsuite_execution.uow import ExecutionUow
from agentsuite_kit.runtime import Runtime


@dataclass
class Deps:
    settings: ExecutionSettings
    runtime: Runtime[ExecutionUow] = field(init=False)
    secrets: SecretBox = field(init=False)

    def __post_init__(self) -> None:
        self.secrets = SecretBox(self.settings)

    def uow(self, tenant_id: UUID | None, *, held: bool = False) -> ExecutionUow:
        """A unit of work for `tenant_id` (None: every tenant's rows, for the engine's
        claims and sweeps, never a request's)."""
        if tenant_id is None:
            return self.runtime.uow(None, all_tenants=True)
        return self.runtime.uow(tenant_id, held=held)
