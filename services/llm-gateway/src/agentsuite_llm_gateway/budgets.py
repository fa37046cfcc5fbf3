"""Budgets on the hot path: reserve an estimate before the upstream call, atomically across
every budget the caller counts against (settlement happens in the recorder's flush).

One short transaction per call, one statement inside it (see `repositories.budgets`): the
rows stay locked only for that statement and its commit, so calls against one budget
queue for microseconds, not for the length of the upstream call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from agentsuite_contracts.ids import uuid7
from agentsuite_llm_gateway.domain.budgets import remaining
from agentsuite_llm_gateway.domain.caller import Caller
from agentsuite_llm_gateway.domain.catalog import BudgetRule
from agentsuite_llm_gateway.domain.costs import units
from agentsuite_llm_gateway.repositories.budgets import Row, counters_of, limits_of
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
        ids = tuple(sorted({r.budget_id for r in rules}))
        reservation = Reservation(uuid7(), ids, tokens, micros)
        if not ids:
            return reservation
        now = datetime.now(UTC)
        expires = now + timedelta(seconds=self.settings.reservation_ttl)
        async with self._uow(caller.tenant_id) as uow:
            refused = await uow.budgets.reserve(
                reservation.reservation_id, ids, tokens, micros, expires, now=now
            )
            if not refused:
                await uow.commit()
                return reservation
            # still locked by this transaction: the figures in the message are current
            row = await uow.budgets.get(refused[0])
        # leaving without commit: the statement held nothing, and the window roll is undone
        rule = next(r for r in rules if r.budget_id == refused[0])
        raise BudgetExhausted(rule, exhausted_message(row, tokens, micros, now))

    async def release(self, tenant_id: UUID, reservation: Reservation) -> None:
        """Give a reservation back unspent, at once (the call never went out)."""
        if not reservation.budget_ids:
            return
        async with self._uow(tenant_id) as uow:
            await uow.budgets.release(reservation.reservation_id)
            await uow.commit()


def exhausted_message(row: Row | None, tokens: int, micros: int, now: datetime) -> str:
    """What a client reads in the 402: which budget, its limit, what is left, what the
    call needed."""
    if row is None:
        return "a budget of this caller is exhausted"
    limits = limits_of(row)
    c = counters_of(row).rolled(row["period"], now)
    left_tokens, left_micros = remaining(limits, c)
    who = "the tenant" if row["scope"] == "tenant" else f"{row['scope']} {row['scope_id']}"
    parts = []
    if left_tokens is not None and tokens > left_tokens:
        parts.append(
            f"{left_tokens} of {limits.tokens} tokens left, this call may use up to {tokens}"
        )
    if left_micros is not None and micros > left_micros:
        parts.append(
            f"{units(left_micros)} of {units(limits.micros or 0)} {row['currency']} left, "
            f"this call may cost up to {units(micros)}"
        )
    detail = "; ".join(parts) or "nothing left"
    return f"the {row['period']} budget of {who} is exhausted: {detail}"
