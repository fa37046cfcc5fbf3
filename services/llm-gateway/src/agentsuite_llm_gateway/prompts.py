"""Prompt references in requests: resolve a name + label or version and render it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from agentsuite_llm_gateway.uow import GatewayUow


@dataclass(frozen=True, slots=True)
class Rendered:
    prompt_id: UUID
    version: int
    messages: list[dict[str, Any]]  # OpenAI chat messages, variables filled in
    model: str | None  # the version's default model or alias
    params: dict[str, Any]  # its default request parameters (temperature, ...)


class PromptResolver:
    def __init__(self, uow: Callable[[UUID | None], GatewayUow]) -> None:
        self._uow = uow

    async def resolve(self, tenant_id: UUID, ref: dict[str, Any]) -> Rendered:
        """`ref` = {name, label | version, variables}; GatewayError on a bad reference."""
        raise NotImplementedError
