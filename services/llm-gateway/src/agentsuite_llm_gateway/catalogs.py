"""Each tenant's routing catalogue, read from the database and kept in memory until a
change notification (or `config_ttl`) says it is stale.

Every admin write runs `pg_notify('llm_catalog', '<tenant>')` in its transaction (see
`GatewayUow.catalog_changed`); PostgreSQL delivers it to every listener at commit, and one
connection per process LISTENs (the kit's `Changes`). An entry remembers the (epoch,
generation) its load began under: a notification for the tenant bumps the generation, a
connect or a loss of the connection bumps the epoch. A warm entry is then served without
touching the database while the listener is up and nothing was announced since its load
began; while the listener is down (or after a reconnect: notifications sent meanwhile are
lost) it is trusted for `config_ttl` seconds at most. A load racing a notification is safe:
its ticket was taken before the read, so the notification makes it stale.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from agentsuite_kit.db.changes import Changes, Ticket
from agentsuite_llm_gateway.domain.catalog import (
    Alias,
    BudgetRule,
    Catalog,
    Model,
    Preference,
    Price,
    Provider,
    ProviderKind,
    Rule,
    Target,
    Tier,
)
from agentsuite_llm_gateway.settings import GatewaySettings
from agentsuite_llm_gateway.uow import CATALOG_CHANNEL, GatewayUow

LOCAL = "local"
BUILTIN_MODELS = {"local-echo": "echo", "local-json": "json", "local-tools": "tools"}
BUILTIN_ALIASES = ("default", "fast", "smart")
BUILTIN_CAPABILITIES = frozenset({"tools", "json", "embeddings"})
BUILTIN_CONTEXT = 128_000
MAX_TENANTS = 10_000  # catalogues kept per process; the least recently loaded go first
# built-in ids are derived, so a tenant's built-ins keep their ids across loads and processes
_BUILTIN_NS = uuid.UUID("5b0e0d4e-3f7a-4c61-9d35-6c1b9a1e2f70")

Row = Mapping[Any, Any]


def builtin_id(tenant_id: UUID, name: str) -> UUID:
    return uuid.uuid5(_BUILTIN_NS, f"{tenant_id}/{name}")


def _provider(row: Row) -> Provider:
    return Provider(
        provider_id=row["provider_id"],
        name=row["name"],
        kind=ProviderKind(row["kind"]),
        base_url=row["base_url"],
        enabled=row["enabled"],
        options=dict(row["options"] or {}),
        credential=row["credential"],
        credential_key_id=row["credential_key_id"],
    )


def _price(row: Row) -> Price:
    return Price(
        effective_from=row["effective_from"],
        input=row["input_micros"],
        output=row["output_micros"],
        cached_input=row["cached_input_micros"],
        reasoning=row["reasoning_micros"],
        currency=row["currency"],
    )


def build(
    tenant_id: UUID,
    providers: Iterable[Row],
    models: Iterable[Row],
    prices: Iterable[Row],
    aliases: Iterable[Alias] = (),
    rules: Iterable[Rule] = (),
    preferences: Iterable[Preference] = (),
    budgets: Iterable[BudgetRule] = (),
) -> Catalog:
    """The catalogue of these rows, with the built-in `local` provider, its models and the
    default aliases wherever the tenant defined none of those names."""
    by_id = {row["provider_id"]: _provider(row) for row in providers}
    by_name = {p.name: p for p in by_id.values()}
    price_lists: dict[UUID, list[Price]] = {}
    for row in prices:
        price_lists.setdefault(row["model_id"], []).append(_price(row))
    catalog_models: dict[str, Model] = {}
    for row in models:
        provider = by_id.get(row["provider_id"])
        if provider is None:  # cannot happen under the FK; a torn read must not break routing
            continue
        catalog_models[row["name"]] = Model(
            model_id=row["model_id"],
            name=row["name"],
            provider=provider,
            upstream=row["upstream"],
            context_window=row["context_window"],
            max_output=row["max_output"],
            capabilities=frozenset(row["capabilities"] or ()),
            tier=Tier(row["tier"]),
            enabled=row["enabled"],
            prices=tuple(sorted(price_lists.get(row["model_id"], ()), key=_from)),
        )
    local = by_name.get(LOCAL)
    if local is None:
        local = Provider(builtin_id(tenant_id, LOCAL), LOCAL, ProviderKind.LOCAL, None)
        by_name[LOCAL] = local
    if local.kind is ProviderKind.LOCAL:  # a tenant's own `local` of another kind gets none
        for name, upstream in BUILTIN_MODELS.items():
            if name not in catalog_models:
                catalog_models[name] = Model(
                    model_id=builtin_id(tenant_id, name),
                    name=name,
                    provider=local,
                    upstream=upstream,
                    context_window=BUILTIN_CONTEXT,
                    capabilities=BUILTIN_CAPABILITIES,
                    tier=Tier.FAST,
                )
    catalog_aliases = {a.name: a for a in aliases}
    for name in BUILTIN_ALIASES:
        if name not in catalog_aliases and name not in catalog_models:
            catalog_aliases[name] = Alias(name, (Target("local-echo"),))
    return Catalog(
        tenant_id=tenant_id,
        models=catalog_models,
        aliases=catalog_aliases,
        rules=tuple(rules),
        preferences={(p.subject_kind, p.subject_id): p for p in preferences},
        providers=by_name,
        budgets=tuple(budgets),
    )


def _from(price: Price) -> Any:
    return price.effective_from


@dataclass(frozen=True, slots=True)
class _Entry:
    catalog: Catalog
    ticket: Ticket
    loaded_at: float  # monotonic time the load began


class Catalogs:
    def __init__(
        self,
        settings: GatewaySettings,
        uow: Callable[[UUID | None], GatewayUow],
        *,
        dsn: str | None = None,
        retry: float = 1.0,
    ) -> None:
        self.settings = settings
        self._uow = uow
        url = dsn if dsn is not None else settings.database_url.get_secret_value()
        self.changes = Changes(url, CATALOG_CHANNEL, retry=retry, on_void=self._dropped)
        self._entries: dict[UUID, _Entry] = {}
        self._loads: dict[UUID, tuple[Ticket, asyncio.Future[Catalog]]] = {}
        self.loads = 0  # database loads done (tests and metrics)

    @property
    def listening(self) -> bool:
        return self.changes.listening

    def _fresh(self, tenant_id: UUID, entry: _Entry) -> bool:
        epoch, generation = entry.ticket
        now_epoch, now_generation = self.changes.current(tenant_id)
        if generation != now_generation:
            return False
        if epoch == now_epoch and self.listening:
            return True
        return time.monotonic() - entry.loaded_at < self.settings.config_ttl

    async def get(self, tenant_id: UUID) -> Catalog:
        """The tenant's catalogue, the built-in `local` provider and default aliases included."""
        entry = self._entries.get(tenant_id)
        if entry is not None and self._fresh(tenant_id, entry):
            return entry.catalog
        ticket = self.changes.current(tenant_id)
        running = self._loads.get(tenant_id)
        if running is None or running[0] != ticket:
            # concurrent misses share one load; one begun before a change is not joined
            future = asyncio.ensure_future(self._load(tenant_id, ticket))
            running = (ticket, future)
            self._loads[tenant_id] = running
            future.add_done_callback(lambda f: self._done(tenant_id, f))
        return await asyncio.shield(running[1])

    def _done(self, tenant_id: UUID, future: asyncio.Future[Catalog]) -> None:
        current = self._loads.get(tenant_id)
        if current is not None and current[1] is future:
            del self._loads[tenant_id]
        if not future.cancelled():
            future.exception()  # retrieved: a failed load is the waiters' error, not a log

    async def _load(self, tenant_id: UUID, ticket: Ticket) -> Catalog:
        began = time.monotonic()
        self.loads += 1
        async with self._uow(tenant_id) as uow:
            catalog = build(
                tenant_id,
                await uow.providers.all(),
                await uow.models.all(),
                await uow.prices.all(),
                await uow.aliases.all(),
                await uow.rules.all(),
                await uow.preferences.all(),
                await uow.budgets.rules(),
            )
        current = self._entries.get(tenant_id)
        if current is None or current.ticket <= ticket:  # a slower, older load keeps out
            self._entries.pop(tenant_id, None)  # re-inserted last: the oldest go first
            self._entries[tenant_id] = _Entry(catalog, ticket, began)
            while len(self._entries) > MAX_TENANTS:
                del self._entries[next(iter(self._entries))]
        return catalog

    def forget(self, tenant_id: UUID) -> None:
        """Drop this process's copy (admin writes call it; NOTIFY tells the others)."""
        self.changes.void(tenant_id)

    def forget_all(self) -> None:
        self.changes.void(None)

    def _dropped(self, tenant_id: UUID | None) -> None:
        if tenant_id is None:
            self._entries.clear()
        else:
            self._entries.pop(tenant_id, None)

    async def start(self) -> None:
        """Begin listening for change notifications (a failed connect retries in the
        background; meanwhile entries live `config_ttl` seconds)."""
        await self.changes.start()

    async def aclose(self) -> None:
        """Stop listening."""
        await self.changes.aclose()
