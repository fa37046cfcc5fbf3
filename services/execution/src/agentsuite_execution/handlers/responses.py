"""llm-gateway's answers to execution's `llm` and `agent` steps (`llm.responses.execution.v1`,
and the shared `llm.responses.v1` for requests sent before it): the kit's LLM client matches
each to its pending call (`engine.calls.CLIENT`) and hands it to `engine.llm_answers.applied`; other
services' answers on the shared topic are skipped there."""

from __future__ import annotations

from agentsuite_execution.deps import Deps
from agentsuite_execution.engine.calls import CLIENT
from agentsuite_execution.engine.llm_answers import replies
from agentsuite_execution.uow import ExecutionUow
from agentsuite_kit.jobs import Handler as JobHandler
from agentsuite_kit.runtime import ConsumerSpec


def llm_consumers(deps: Deps) -> list[ConsumerSpec[ExecutionUow]]:
    return [CLIENT.consumer(replies(deps))]


def llm_jobs(deps: Deps) -> dict[str, JobHandler[ExecutionUow]]:
    """The client's jobs: a request still unanswered is sent again."""
    return CLIENT.jobs(replies(deps))
