"""Traces off the hot path: `record()` queues; a background task writes batches (calls,
usage rollup, budget settlement, `llm.usage.v1`) in one transaction per tenant."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from agentsuite_llm_gateway.domain.traces import Trace
from agentsuite_llm_gateway.settings import GatewaySettings
from agentsuite_llm_gateway.uow import GatewayUow


class Recorder:
    def __init__(self, settings: GatewaySettings, uow: Callable[[UUID | None], GatewayUow]) -> None:
        self.settings = settings
        self._uow = uow

    def record(self, trace: Trace) -> None:
        """Queue `trace`; never blocks, never raises."""
        raise NotImplementedError

    async def flush(self) -> None:
        """Write everything queued so far (tests and shutdown)."""

    async def start(self) -> None: ...

    async def aclose(self) -> None:
        """Flush and stop."""
