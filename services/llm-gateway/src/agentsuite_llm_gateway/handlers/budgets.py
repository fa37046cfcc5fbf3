"""Budgets: the expiry of reservations whose process died (settled as settlement.py
settles a call), and the admin commands, one function `(command, uow, deps)` each."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import RowMapping

from agentsuite_contracts.ids import uuid7
from agentsuite_kit.http.etag import Precondition
from agentsuite_kit.jobs import Handler, Job
from agentsuite_llm_gateway.deps import Deps
from agentsuite_llm_gateway.domain import budgets as rules
from agentsuite_llm_gateway.domain.budgets import Period
from agentsuite_llm_gateway.domain.costs import units
from agentsuite_llm_gateway.domain.errors import Code, GatewayError
from agentsuite_llm_gateway.repositories.budgets import counters_of, limits_of
from agentsuite_llm_gateway.settlement import settle_many
from agentsuite_llm_gateway.uow import GatewayUow

EXPIRE = "llm.budgets.expire"
EXPIRE_CRON = "* * * * *"
EXPIRE_BATCH = 500
MICROS = Decimal(1_000_000)

# --- expiry --------------------------------------------------------------------------------


async def expire(uow: GatewayUow, now: datetime | None = None) -> int:
    """Settle reservations past `expires_at` at their full estimate: their process died
    between reserve and settle, and the call may well have been made. `uow` sees every
    tenant. No commit. The number settled (a full batch: run again)."""
    at = now or datetime.now(UTC)
    lapsed = await uow.budgets.expired(at, EXPIRE_BATCH)
    await settle_many(uow, [(r["reservation_id"], r["tokens"], r["micros"], None) for r in lapsed])
    return len(lapsed)


def jobs(uow: Callable[[UUID | None], GatewayUow]) -> dict[str, Handler[GatewayUow]]:
    """The expiry cron's handler; `uow` is `Deps.uow` (the job's own unit of work is
    tenantless and sees no tenant's rows, so the handler opens an all-tenants one)."""

    async def run(job: Job, _: GatewayUow) -> None:
        while True:
            async with uow(None) as every:
                settled = await expire(every)
                await every.commit()
            if settled < EXPIRE_BATCH:
                return

    return {EXPIRE: run}


async def schedule_expiry(uow: GatewayUow) -> None:
    """Register the tenantless expiry cron (idempotent: one row by key). Run at startup."""
    await uow.jobs.schedule(EXPIRE, cron=EXPIRE_CRON, key=EXPIRE)


# --- admin ---------------------------------------------------------------------------------

Scope = Literal["tenant", "org", "api_key", "user"]
Cost = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^\d{1,12}(\.\d{1,6})?$"),
    Field(description="Decimal amount in currency units, e.g. `25.50` (at most 6 decimals)."),
]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Model = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
Percent = Annotated[int, Field(ge=1, le=100)]
TokenLimit = Annotated[int, Field(gt=0, le=10**15)]


class CreateBudget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: Scope
    scope_id: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        default=None, description="The org, API key or user id; the tenant's own if omitted."
    )
    period: Period
    limit_tokens: TokenLimit | None = None
    limit_cost: Cost | None = None
    currency: Currency = "USD"
    on_exhaust: Literal["reject", "downgrade"] = "reject"
    downgrade_to: Model | None = Field(default=None, description="A model or alias name.")
    warn_percent: Percent | None = None


class UpdateBudget(BaseModel):
    """Fields sent replace; `null` clears an optional one. Spend is kept."""

    model_config = ConfigDict(extra="forbid")

    limit_tokens: TokenLimit | None = None
    limit_cost: Cost | None = None
    currency: Currency | None = None
    on_exhaust: Literal["reject", "downgrade"] | None = None
    downgrade_to: Model | None = None
    warn_percent: Percent | None = None


class BudgetView(BaseModel):
    budget_id: UUID
    scope: str
    scope_id: str
    period: str
    limit_tokens: int | None
    limit_cost: str | None
    currency: str
    on_exhaust: str
    downgrade_to: str | None
    warn_percent: int | None
    spent_tokens: int
    spent_cost: str
    reserved_tokens: int
    reserved_cost: str
    remaining_tokens: int | None
    remaining_cost: str | None
    window_start: datetime
    window_end: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: RowMapping, now: datetime | None = None) -> BudgetView:
        """The budget as of `now`: a window that ended shows as the new, empty one."""
        at = now or datetime.now(UTC)
        limits = limits_of(row)
        c = counters_of(row).rolled(row["period"], at)
        left_tokens, left_micros = rules.remaining(limits, c)
        span = rules.window(row["period"], c.window_start, since=c.window_start)
        return cls(
            budget_id=row["budget_id"],
            scope=row["scope"],
            scope_id=row["scope_id"],
            period=row["period"],
            limit_tokens=row["limit_tokens"],
            limit_cost=_cost(row["limit_micros"]),
            currency=row["currency"],
            on_exhaust=row["on_exhaust"],
            downgrade_to=row["downgrade_to"],
            warn_percent=row["warn_percent"],
            spent_tokens=c.spent_tokens,
            spent_cost=_cost(c.spent_micros) or "0",
            reserved_tokens=c.reserved_tokens,
            reserved_cost=_cost(c.reserved_micros) or "0",
            remaining_tokens=left_tokens,
            remaining_cost=_cost(left_micros),
            window_start=c.window_start,
            window_end=span.end,
            version=row["version"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )


def _cost(micros: int | None) -> str | None:
    if micros is None:
        return None
    return units(micros)


def _micros(cost: str | None) -> int | None:
    return None if cost is None else int(Decimal(cost) * MICROS)


def invalid(message: str, field: str) -> GatewayError:
    return GatewayError(Code.INVALID_REQUEST, message, param=field)


def _check(values: dict[str, Any]) -> None:
    """The rules across fields, on the budget as it would be after the write."""
    if values.get("limit_tokens") is None and values.get("limit_micros") is None:
        raise invalid("a budget needs limit_tokens, limit_cost or both", "limit_cost")
    if values["on_exhaust"] == "downgrade" and not values.get("downgrade_to"):
        raise invalid("required when on_exhaust is downgrade", "downgrade_to")
    if values["on_exhaust"] == "reject" and values.get("downgrade_to"):
        raise invalid("only with on_exhaust downgrade", "downgrade_to")


def _scope_id(cmd: CreateBudget, tenant_id: UUID) -> str:
    if cmd.scope == "tenant":
        if cmd.scope_id is not None and cmd.scope_id != str(tenant_id):
            raise invalid("a tenant budget is for the caller's own tenant", "scope_id")
        return str(tenant_id)
    if cmd.scope_id is None:
        raise invalid(f"required for a {cmd.scope} budget", "scope_id")
    try:
        # the canonical form is what callers' subjects are compared with
        return str(UUID(cmd.scope_id))
    except ValueError:
        raise invalid(f"not a {cmd.scope} id (a UUID)", "scope_id") from None


@dataclass(frozen=True, slots=True)
class GetBudget:
    budget_id: UUID


@dataclass(frozen=True, slots=True)
class ChangeBudget:
    budget_id: UUID
    changes: UpdateBudget
    precondition: Precondition


@dataclass(frozen=True, slots=True)
class DeleteBudget:
    budget_id: UUID


@dataclass(frozen=True, slots=True)
class ResetBudget:
    budget_id: UUID


async def create_budget(cmd: CreateBudget, uow: GatewayUow, deps: Deps) -> BudgetView:
    """No commit: the route saves the idempotent response in the same transaction."""
    assert uow.tenant_id is not None
    at = datetime.now(UTC)
    values: dict[str, Any] = {
        "budget_id": uuid7(),
        "scope": cmd.scope,
        "scope_id": _scope_id(cmd, uow.tenant_id),
        "period": cmd.period.value,
        "limit_tokens": cmd.limit_tokens,
        "limit_micros": _micros(cmd.limit_cost),
        "currency": cmd.currency,
        "on_exhaust": cmd.on_exhaust,
        "downgrade_to": cmd.downgrade_to,
        "warn_percent": cmd.warn_percent,
        "window_start": rules.window(cmd.period, at).start,
    }
    _check(values)
    row = await uow.budgets.add(values)
    if row is None:
        raise GatewayError(
            Code.CONFLICT,
            f"a {cmd.period.value} budget for {cmd.scope} {values['scope_id']} exists",
            param="scope_id",
        )
    uow.catalog_changed()
    return BudgetView.of(row, at)


async def _row(uow: GatewayUow, budget_id: UUID, *, lock: bool = False) -> RowMapping:
    row = await uow.budgets.get(budget_id, lock=lock)
    if row is None:
        raise GatewayError(Code.NOT_FOUND, f"budget {budget_id} not found", param="budget_id")
    return row


async def get_budget(query: GetBudget, uow: GatewayUow, deps: Deps) -> BudgetView:
    """With spent, reserved and remaining in the current window."""
    return BudgetView.of(await _row(uow, query.budget_id))


async def update_budget(cmd: ChangeBudget, uow: GatewayUow, deps: Deps) -> BudgetView:
    """Commits. A limit raised above spend re-arms its warning and exceeded events."""
    budget_id = cmd.budget_id
    row = await _row(uow, budget_id, lock=True)
    cmd.precondition.check(row["version"])
    sent = cmd.changes.model_dump(include=cmd.changes.model_fields_set)
    changes: dict[str, Any] = {}
    for name, value in sent.items():
        if name == "limit_cost":
            changes["limit_micros"] = _micros(value)
        elif name in ("currency", "on_exhaust") and value is None:
            raise invalid("may not be null", name)
        else:
            changes[name] = value
    if changes.get("on_exhaust") == "reject" and "downgrade_to" not in changes:
        changes["downgrade_to"] = None
    after = {**dict(row), **changes}
    _check(after)
    if changes:
        limits = limits_of(after)
        c = counters_of(row)
        warn = limits.warn_percent or 100
        changes["warned"] = c.warned and _still(limits, c, warn)
        changes["exceeded"] = c.exceeded and _still(limits, c, 100)
        row = await uow.budgets.change(budget_id, changes)
        uow.catalog_changed()
        await uow.commit()
    return BudgetView.of(row)


def _still(limits: rules.Limits, c: rules.Counters, percent: int) -> bool:
    return any(
        lim is not None and lim > 0 and spent * 100 >= lim * percent
        for lim, spent in ((limits.tokens, c.spent_tokens), (limits.micros, c.spent_micros))
    )


async def delete_budget(cmd: DeleteBudget, uow: GatewayUow, deps: Deps) -> None:
    """Commits; live reservations on it go with it (calls in flight settle into nothing)."""
    budget_id = cmd.budget_id
    if not await uow.budgets.remove(budget_id):
        raise GatewayError(Code.NOT_FOUND, f"budget {budget_id} not found", param="budget_id")
    uow.catalog_changed()
    await uow.commit()


async def reset_budget(cmd: ResetBudget, uow: GatewayUow, deps: Deps) -> BudgetView:
    """Commits. Zero the window's spend and re-arm its events; calls in flight keep their
    reservations."""
    budget_id = cmd.budget_id
    at = datetime.now(UTC)
    row = await _row(uow, budget_id, lock=True)
    start = rules.window(row["period"], at, since=row["window_start"]).start
    row = await uow.budgets.change(
        budget_id,
        {
            "spent_tokens": 0,
            "spent_micros": 0,
            "warned": False,
            "exceeded": False,
            "window_start": start if row["period"] != "total" else row["window_start"],
        },
    )
    uow.catalog_changed()
    await uow.commit()
    return BudgetView.of(row, at)
