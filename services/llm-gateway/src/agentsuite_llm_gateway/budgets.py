"""Budgets on the hot path: reserve an estimate before the upstream call, atomically across
every budget the caller counts against, and settle it when the call ends (`settle`: the
hold freed, the real use spent) before the client has its answer, so the client's next
call sees it. The recorder's flush settles only what that could not (the database did
not answer in time): a trace carries its reservation until it is settled.

One short transaction per call, one statement inside it (see `repositories.budgets`): the
rows stay locked only for that statement and its commit, so calls against one budget
queue for microseconds, not for the length of the upstream call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from agentsuite_contracts.ids import uuid7
from agentsuite_llm_gateway.domain.budgets import remaining
from agentsuite_llm_gateway.domain.caller import Caller
from agentsuite_llm_gateway.domain.catalog import BudgetRule
from agentsuite_llm_gateway.domain.costs import units
from agentsuite_llm_gateway.repositories.budgets import Row, counters_of, limits_of
from agentsuite_llm_gateway.settings import GatewaySettings
from agentsuite_llm_gateway.settlement import settle
from agentsuite_llm_gateway.uow import GatewayUow


@dataclass(frozen=True, slots=True)
class Reservation:
    reservation_id: UUID
    budget_ids: tuple[UUID, ...]
    tokens: int
    micros: int


class BudgetExhausted(Exception):
    """Reserving would overspend `rule`'s budget; nothing was reserved."""

    def __init__(
        self, rule: BudgetRule, message: str, figures: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.rule = rule
        self.figures = figures or {}  # the numbers of the message, for the problem document


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
        message, figures = exhausted(row, tokens, micros, now)
        raise BudgetExhausted(rule, message, figures)

    async def release(self, tenant_id: UUID, reservation: Reservation) -> None:
        """Give a reservation back unspent, at once (the call never went out)."""
        if not reservation.budget_ids:
            return
        async with self._uow(tenant_id) as uow:
            await uow.budgets.release(reservation.reservation_id)
            await uow.commit()

    async def settle(
        self,
        tenant_id: UUID,
        reservation: Reservation,
        tokens: int,
        micros: int,
        request_id: UUID | None = None,
    ) -> None:
        """Spend what a finished call used and free the rest of its hold, now: one short
        transaction, as the reservation's own (a call without budgets costs nothing)."""
        if not reservation.budget_ids:
            return
        async with self._uow(tenant_id) as uow:
            await uow.budgets.commit_lazily()
            await settle(uow, reservation.reservation_id, tokens, micros, request_id)
            await uow.commit()


def exhausted(
    row: Row | None, tokens: int, micros: int, now: datetime
) -> tuple[str, dict[str, Any]]:
    """What a client reads in the 402 (which budget, its limit, what is spent, what calls
    in flight hold, what is left, what this call needs; execution's wording) and the same
    figures as the problem's `budget` member."""
    if row is None:
        return "a budget of this caller is exhausted", {}
    limits = limits_of(row)
    c = counters_of(row).rolled(row["period"], now)
    left_tokens, left_micros = remaining(limits, c)
    who = "tenant" if row["scope"] == "tenant" else f"{row['scope']} {row['scope_id']}"
    figures: dict[str, Any] = {
        "budget_id": str(row["budget_id"]),
        "scope": row["scope"],
        "scope_id": row["scope_id"],
        "period": row["period"],
    }
    parts = []
    if left_tokens is not None and tokens > left_tokens:
        figures["tokens"] = {
            "limit": limits.tokens,
            "spent": c.spent_tokens,
            "held": c.reserved_tokens,
            "left": left_tokens,
            "needs": tokens,
        }
        parts.append(
            f"{who} {row['period']} token budget {limits.tokens}: {c.spent_tokens} spent, "
            f"{c.reserved_tokens} held by calls in flight, {left_tokens} left; "
            f"this call needs up to {tokens}"
        )
    if left_micros is not None and micros > left_micros:
        currency = row["currency"]
        figures["cost"] = {
            "currency": currency,
            "limit": units(limits.micros or 0),
            "spent": units(c.spent_micros),
            "held": units(c.reserved_micros),
            "left": units(left_micros),
            "needs": units(micros),
        }
        parts.append(
            f"{who} {row['period']} cost budget {units(limits.micros or 0)} {currency}: "
            f"{units(c.spent_micros)} spent, {units(c.reserved_micros)} held by calls in "
            f"flight, {units(left_micros)} left; this call needs up to {units(micros)}"
        )
    return " | ".join(parts) or f"{who} {row['period']} budget: nothing left", figures
