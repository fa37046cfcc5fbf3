"""Kafka subscriptions: `llm.requests.v1` commands, answered on their `reply_to` topic."""

from __future__ import annotations

from agentsuite_contracts.llm import LlmRequest
from agentsuite_contracts.topic_names import LLM_REQUESTS_V1
from agentsuite_kit.runtime import INTERACTIVE_FETCH_WAIT_MS, ConsumerSpec
from agentsuite_llm_gateway.deps import Deps
from agentsuite_llm_gateway.handlers.requests import worker
from agentsuite_llm_gateway.uow import GatewayUow


def consumers(deps: Deps) -> list[ConsumerSpec[GatewayUow]]:
    # the handler only claims (the call runs in a background task), so a few workers keep
    # the twelve partitions flowing while claims wait on the database
    return [
        ConsumerSpec[GatewayUow](
            name="requests",
            topic=LLM_REQUESTS_V1,
            handlers={LlmRequest: worker(deps).handle},
            workers=4,
            fetch_wait_ms=INTERACTIVE_FETCH_WAIT_MS,  # a requester's user waits on each call
        )
    ]
