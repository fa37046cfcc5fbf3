"""Models of a provider and their versioned price lists: one function `(command, uow, deps)`
per command.

Every change re-sends ModelRegistered (with the price in force) or ModelRetired, and
announces the tenant's catalogue change; the route commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field, field_validator, model_validator
from sqlalchemy.engine import RowMapping

from agentsuite_contracts.common import Money
from agentsuite_contracts.ids import uuid7
from agentsuite_contracts.llm import ModelRegistered, ModelRetired
from agentsuite_kit.http.etag import Precondition
from agentsuite_llm_gateway.deps import Deps
from agentsuite_llm_gateway.domain.errors import Code, GatewayError
from agentsuite_llm_gateway.handlers.inputs import Command, storable
from agentsuite_llm_gateway.handlers.providers import missing, provider_row, tenant_of
from agentsuite_llm_gateway.uow import GatewayUow

MICROS = Decimal(1_000_000)

Amount = Annotated[Decimal, Field(ge=0, le=1_000_000, decimal_places=6, allow_inf_nan=False)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Capability = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_.-]+$")]
ModelName = Annotated[
    str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$")
]
Tier = Literal["fast", "balanced", "best"]


class PriceIn(Command):
    input: Amount = Field(description='Currency units per million input tokens, e.g. "2.50".')
    output: Amount
    cached_input: Amount | None = Field(default=None, description="Default: the input price.")
    reasoning: Amount | None = Field(default=None, description="Default: the output price.")
    currency: Currency = "USD"


class AddPrice(PriceIn):
    effective_from: datetime | None = Field(default=None, description="Default: now.")

    @field_validator("effective_from")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must carry a time zone, e.g. 2026-01-01T00:00:00Z")
        return value


class CreateModel(Command):
    name: ModelName
    upstream: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    context_window: int = Field(ge=1, le=100_000_000)
    max_output: int | None = Field(default=None, ge=1, le=100_000_000)
    capabilities: list[Capability] = Field(default_factory=list, max_length=32)
    tier: Tier = "balanced"
    enabled: bool = True
    price: PriceIn | None = None

    @model_validator(mode="after")
    def _storable_upstream(self) -> CreateModel:
        if self.upstream is not None and not storable(self.upstream):
            raise ValueError("upstream: contains NUL or an unpaired surrogate")
        return self


class UpdateModel(Command):
    name: ModelName | None = None
    upstream: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    context_window: int | None = Field(default=None, ge=1, le=100_000_000)
    max_output: int | None = Field(default=None, ge=1, le=100_000_000)
    capabilities: list[Capability] | None = Field(default=None, max_length=32)
    tier: Tier | None = None
    enabled: bool | None = None


class PriceView(BaseModel):
    price_id: UUID
    model_id: UUID
    effective_from: datetime
    currency: str
    input: str
    output: str
    cached_input: str | None
    reasoning: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: RowMapping) -> PriceView:
        return cls(
            price_id=row["price_id"],
            model_id=row["model_id"],
            effective_from=row["effective_from"],
            currency=row["currency"],
            input=_amount(row["input_micros"]),
            output=_amount(row["output_micros"]),
            cached_input=_amount(row["cached_input_micros"]),
            reasoning=_amount(row["reasoning_micros"]),
            created_at=row["created_at"],
        )


class ModelView(BaseModel):
    model_id: UUID
    provider_id: UUID
    name: str
    upstream: str
    context_window: int
    max_output: int | None
    capabilities: list[str]
    tier: str
    enabled: bool
    price: PriceView | None = Field(description="The price in force now (null: free).")
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: RowMapping, price: RowMapping | None) -> ModelView:
        values = {k: row[k] for k in cls.model_fields if k != "price"}
        return cls(**values, price=None if price is None else PriceView.of(price))


def _amount(micros: int | None) -> Any:
    return None if micros is None else format(Decimal(micros) / MICROS, "f")


def _micros(amount: Decimal | None) -> int | None:
    return None if amount is None else int(amount * MICROS)


# --- models and prices ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AddModel:
    provider_id: UUID
    body: CreateModel


@dataclass(frozen=True, slots=True)
class GetModel:
    provider_id: UUID
    model_id: UUID


@dataclass(frozen=True, slots=True)
class ChangeModel:
    provider_id: UUID
    model_id: UUID
    body: UpdateModel
    precondition: Precondition


@dataclass(frozen=True, slots=True)
class DeleteModel:
    provider_id: UUID
    model_id: UUID


@dataclass(frozen=True, slots=True)
class AddModelPrice:
    provider_id: UUID
    model_id: UUID
    body: AddPrice


async def create_model(command: AddModel, uow: GatewayUow, deps: Deps) -> ModelView:
    """No commit (see create_provider)."""
    cmd, provider_id = command.body, command.provider_id
    tenant = tenant_of(uow)
    await provider_row(uow, provider_id, lock=True)
    model_id = uuid7()
    added = await uow.models.add(
        model_id,
        tenant,
        provider_id,
        name=cmd.name,
        upstream=cmd.upstream or cmd.name,
        context_window=cmd.context_window,
        max_output=cmd.max_output,
        capabilities=sorted(set(cmd.capabilities)),
        tier=cmd.tier,
        enabled=cmd.enabled,
    )
    if not added:
        raise GatewayError(Code.CONFLICT, f"a model named {cmd.name!r} exists", param="name")
    if cmd.price is not None:
        await _add_price(uow, model_id, cmd.price, None, field="price")
    return await _announced(uow, provider_id, model_id)


async def model_row(
    uow: GatewayUow, provider_id: UUID, model_id: UUID, *, lock: bool = False
) -> RowMapping:
    row = await uow.models.get(provider_id, model_id, lock=lock)
    if row is None:
        raise missing("model", model_id, "model_id")
    return row


async def get_model(query: GetModel, uow: GatewayUow, deps: Deps) -> ModelView:
    return await model_view(uow, await model_row(uow, query.provider_id, query.model_id))


async def model_view(uow: GatewayUow, row: RowMapping) -> ModelView:
    return ModelView.of(row, await uow.prices.in_force(row["model_id"]))


async def update_model(command: ChangeModel, uow: GatewayUow, deps: Deps) -> ModelView:
    cmd, provider_id, model_id = command.body, command.provider_id, command.model_id
    row = await model_row(uow, provider_id, model_id, lock=True)
    command.precondition.check(row["version"])
    values = {k: v for k, v in cmd.model_dump(exclude_unset=True).items() if v is not None}
    if "max_output" in cmd.model_fields_set and cmd.max_output is None:
        values["max_output"] = None  # null clears the cap
    if "capabilities" in values:
        values["capabilities"] = sorted(set(values["capabilities"]))
    renamed = values.get("name", row["name"])
    if renamed != row["name"] and await uow.models.name_taken(renamed):
        raise GatewayError(Code.CONFLICT, f"a model named {renamed!r} exists", param="name")
    if not values:
        return await model_view(uow, row)
    if await uow.models.change(model_id, **values) is None:
        raise GatewayError(Code.CONFLICT, f"a model named {renamed!r} exists", param="name")
    if "name" in values:
        # clients asked for the old name: to them it is gone
        uow.emit(ModelRetired(provider_id=provider_id, model=row["name"]))
    return await _announced(uow, provider_id, model_id)


async def delete_model(cmd: DeleteModel, uow: GatewayUow, deps: Deps) -> None:
    provider_id, model_id = cmd.provider_id, cmd.model_id
    row = await model_row(uow, provider_id, model_id, lock=True)
    await uow.models.remove(model_id)
    uow.emit(ModelRetired(provider_id=provider_id, model=row["name"]))
    uow.catalog_changed(tenant_of(uow))


async def add_price(command: AddModelPrice, uow: GatewayUow, deps: Deps) -> PriceView:
    """A new version of the price list (it may start in the future); no commit."""
    cmd, provider_id, model_id = command.body, command.provider_id, command.model_id
    await model_row(uow, provider_id, model_id, lock=True)
    price_id = await _add_price(uow, model_id, cmd, cmd.effective_from, field="effective_from")
    await _announced(uow, provider_id, model_id)
    row = await uow.prices.get(price_id)
    assert row is not None
    return PriceView.of(row)


async def _add_price(
    uow: GatewayUow, model_id: UUID, price: PriceIn, when: datetime | None, *, field: str
) -> UUID:
    price_id = uuid7()
    added = await uow.prices.add(
        price_id,
        tenant_of(uow),
        model_id,
        when,
        currency=price.currency,
        input_micros=_micros(price.input),
        output_micros=_micros(price.output),
        cached_input_micros=_micros(price.cached_input),
        reasoning_micros=_micros(price.reasoning),
    )
    if not added:
        since = "now" if when is None else when.isoformat()
        raise GatewayError(Code.CONFLICT, f"the model has a price from {since}", param=field)
    return price_id


async def _announced(uow: GatewayUow, provider_id: UUID, model_id: UUID) -> ModelView:
    """The model's view after a change, told to the catalogue and to `llm.providers.v1`:
    ModelRegistered (with the price in force) while it is enabled, ModelRetired if not."""
    view = await model_view(uow, await model_row(uow, provider_id, model_id))
    if view.enabled:
        price = view.price
        currency = price.currency if price else "USD"
        uow.emit(
            ModelRegistered(
                provider_id=provider_id,
                model=view.name,
                context_window=view.context_window,
                input_price=Money.of(price.input if price else 0, currency),
                output_price=Money.of(price.output if price else 0, currency),
                capabilities=view.capabilities,
                tier=view.tier,  # type: ignore[arg-type]  # one of the Tier literals
            )
        )
    else:
        uow.emit(ModelRetired(provider_id=provider_id, model=view.name))
    uow.catalog_changed(tenant_of(uow))
    return view
