"""Search over the tenant's catalog, limited to the kinds the caller may read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agentsuite_catalog.deps import Deps
from agentsuite_catalog.domain.search import Entry, EntryKind, Query
from agentsuite_catalog.uow import CatalogUow
from agentsuite_kit.http.pagination import CursorValue


@dataclass(frozen=True, slots=True)
class SearchCatalog:
    query: Query
    after: Sequence[CursorValue] | None
    limit: int


async def search(command: SearchCatalog, uow: CatalogUow, deps: Deps) -> list[tuple[Entry, float]]:
    """Up to `limit + 1` entries with their rank, best first."""
    return await uow.search.find(command.query, command.after, command.limit)


def readable(kinds: Sequence[EntryKind], may_read: Sequence[EntryKind]) -> tuple[EntryKind, ...]:
    """The kinds asked for (all when none) that the caller may read."""
    return tuple(k for k in (kinds or tuple(EntryKind)) if k in may_read)
