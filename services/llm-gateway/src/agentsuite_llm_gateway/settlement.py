"""Settlement: what a finished call spent goes on every budget its reservation held, and
the rest of the hold is freed. The hot path (`BudgetGate.settle`), the recorder's flush
and the expiry job all settle here, in their own unit of work.

Settlement emits `LlmBudgetWarning` / `LlmBudgetExceeded` the first time in a window that
spend reaches a budget's warning threshold or its limit. v1's `scope` can only say tenant
or user, so org and API-key budgets report `tenant` there and name themselves exactly in
`subject_kind`/`subject_id`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal
from uuid import UUID

from agentsuite_contracts.common import Money
from agentsuite_contracts.envelope import Envelope, Payload, Subject
from agentsuite_contracts.llm import LlmBudgetExceeded, LlmBudgetWarning
from agentsuite_kit.cause import cause
from agentsuite_llm_gateway.domain.budgets import Crossing
from agentsuite_llm_gateway.repositories.budgets import Settled
from agentsuite_llm_gateway.uow import GatewayUow


async def settle(
    uow: GatewayUow,
    reservation_id: UUID,
    tokens: int,
    micros: int,
    request_id: UUID | None = None,
) -> None:
    """Spend the real `tokens`/`micros` of a call on every budget its reservation held,
    freeing the rest; emit the crossings. No commit (the caller's transaction). Settling a
    reservation that is gone does nothing, so a redelivered trace cannot spend twice."""
    await settle_many(uow, [(reservation_id, tokens, micros, request_id)])


async def settle_many(uow: GatewayUow, items: Sequence[tuple[UUID, int, int, UUID | None]]) -> None:
    """`settle` for a batch of (reservation_id, tokens, micros, request_id), in one
    statement that locks every budget involved in id order: what a flush of many traces
    should call, since settling them one by one in one transaction takes the locks out of
    order and can deadlock with concurrent reservations."""
    requests = {rid: request_id for rid, _, _, request_id in items}
    for done in await uow.budgets.settle([(rid, t, m) for rid, t, m, _ in items]):
        row = done.budget
        for crossing in done.crossings:
            event = _event(done, crossing, requests.get(done.reservation_id))
            _emit(uow, row["tenant_id"], row["budget_id"], event)


def _event(done: Settled, crossing: Crossing, request_id: UUID | None) -> Payload:
    row, c = done.budget, done.counters
    scope: Literal["tenant", "user"] = "user" if row["scope"] == "user" else "tenant"
    currency = row["currency"]
    common: dict[str, Any] = {
        "budget_id": row["budget_id"],
        "scope": scope,
        "scope_id": row["scope_id"],
        "period": row["period"],
        # Money cannot say tokens: a token-only budget reports its cost spent and no limit
        "limit": Money(amount_micros=row["limit_micros"] or 0, currency=currency),
        "spent": Money(amount_micros=c.spent_micros, currency=currency),
        "subject_kind": row["scope"],
        "subject_id": row["scope_id"],
    }
    if crossing is Crossing.WARNING:
        return LlmBudgetWarning(**common, threshold_percent=row["warn_percent"])
    action: Literal["warned", "blocked"] = "blocked" if row["on_exhaust"] == "reject" else "warned"
    return LlmBudgetExceeded(**common, action=action, request_id=request_id)


def _emit(uow: GatewayUow, tenant_id: UUID, budget_id: UUID, payload: Payload) -> None:
    """Emit about the budget for `tenant_id`, also from an all-tenants unit of work (the
    expiry job, a recorder flushing many tenants), whose own tenant is none."""
    subject = Subject(type="budget", id=str(budget_id))
    if uow.tenant_id == tenant_id:
        uow.emit(payload, subject=subject)
        return
    now = cause()
    uow.emit(
        Envelope[Any](
            producer=uow.producer or "llm-gateway",
            tenant_id=tenant_id,
            actor=now.actor,
            subject=subject,
            correlation_id=now.correlation_id,
            causation_id=now.causation_id,
            trace=now.trace,
            payload=payload,
        )
    )
