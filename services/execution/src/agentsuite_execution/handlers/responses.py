"""llm-gateway's answers to execution's `llm` and `agent` steps (`llm.responses.v1`)."""

from __future__ import annotations

from functools import partial

from agentsuite_contracts.envelope import Envelope
from agentsuite_contracts.llm import RESPONSES_TOPIC, LlmResponse
from agentsuite_execution.deps import Deps
from agentsuite_execution.engine import llm
from agentsuite_execution.uow import ExecutionUow
from agentsuite_kit.runtime import ConsumerSpec


async def llm_answered(event: Envelope[LlmResponse], uow: ExecutionUow, deps: Deps) -> None:
    """Settle the call and move its step (see `engine.llm.answered`); other services'
    answers on the shared topic are skipped there."""
    await llm.answered(deps, uow, event.payload)


def llm_consumers(deps: Deps) -> list[ConsumerSpec[ExecutionUow]]:
    return [
        ConsumerSpec[ExecutionUow](
            name="responses",
            topic=RESPONSES_TOPIC,
            handlers={LlmResponse: partial(llm_answered, deps=deps)},
        )
    ]
