"""Budgets on the hot path: reserve an estimate before the upstream call, atomically across
every budget the caller counts against (settlement happens in the recorder's flush)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from agentsuite_llm_gateway.domain.caller import Caller
from agentsuite_llm_gateway.domain.catalog import BudgetRule
from agentsuite_llm_gateway.settings import GatewaySettings
from agentsuite_llm_gateway.uow import GatewayUow


@dataclass(frozen=True, slots=True)
class Reservation:
    reservation_id: UUID
    budget_ids: tuple[UUID, ...]
    tokens: int
    micros: int


class BudgetExhausted(Exception):
    """Reserving would overspend `rule`'s budget; nothing was reserved."""

    def __init__(self, rule: BudgetRule, message: str) -> None:
        super().__init__(message)
        self.rule = rule


class BudgetGate:
    def __init__(self, settings: GatewaySettings, uow: Callable[[UUID | None], GatewayUow]) -> None:
        self.settings = settings
        self._uow = uow

    async def reserve(
        self, caller: Caller, rules: list[BudgetRule], tokens: int, micros: int
    ) -> Reservation:
        """Hold `tokens` and `micros` on every budget in `rules`, or raise BudgetExhausted."""
        raise NotImplementedError

    async def release(self, tenant_id: UUID, reservation: Reservation) -> None:
        """Give a reservation back unspent, at once (the call never went out)."""
        raise NotImplementedError
