"""Which models a request may go to, in which order: preferences, rules, aliases and their
weights, capabilities, the context window and the request's cost cap."""

from __future__ import annotations

import random
from dataclasses import dataclass

from agentsuite_llm_gateway.domain.caller import Caller
from agentsuite_llm_gateway.domain.catalog import Catalog, Model


@dataclass(frozen=True, slots=True)
class Ask:
    requested: str | None  # model or alias; None or "default": the caller's preference
    caller: Caller
    needs: frozenset[str] = frozenset()  # capabilities, e.g. `tools`, `vision`, `embeddings`
    prompt_tokens: int = 0  # estimated input size
    max_output: int = 0  # output tokens asked for (0: the model's default)
    max_cost_micros: int | None = None  # the request's cost cap


@dataclass(frozen=True, slots=True)
class Route:
    requested: str  # what was resolved (the alias or model name)
    candidates: tuple[Model, ...]  # in the order to try


def plan(catalog: Catalog, ask: Ask, rng: random.Random) -> Route:
    """The candidates for `ask`, or GatewayError (MODEL_NOT_FOUND, NO_ROUTE,
    CONTEXT_TOO_LONG, COST_CAP)."""
    raise NotImplementedError
