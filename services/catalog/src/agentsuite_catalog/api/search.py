"""Search over tools, agents, tasks and templates: full text and fuzzy names, ranked."""

# no `from __future__ import annotations`: FastAPI must resolve the `Depends` targets

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from agentsuite_catalog.api.edge import AppDeps, Uow
from agentsuite_catalog.domain.search import MAX_QUERY, MAX_TAG_FILTERS, Entry, EntryKind, query_of
from agentsuite_catalog.handlers import search as handlers
from agentsuite_contracts.catalog import CatalogStatus
from agentsuite_kit.edge import BAD_CURSOR, INVALID, CurrentPrincipal, Pages, errors
from agentsuite_kit.errors import Forbidden
from agentsuite_kit.http.pagination import Page, paginate, shaped

router = APIRouter(prefix="/v1", tags=["search"])


class Hit(BaseModel):
    kind: EntryKind
    id: UUID
    name: str
    title: str
    description: str
    status: CatalogStatus
    category: str | None
    tags: list[str]
    version: str | None = Field(description="A tool's shown version, a revision's number.")
    updated_at: datetime
    rank: float = Field(description="Higher is a better match (0 without a query).")

    @classmethod
    def of(cls, entry: Entry, rank: float) -> "Hit":
        return cls(
            kind=entry.kind,
            id=entry.id,
            name=entry.name,
            title=entry.title,
            description=entry.description,
            status=entry.status,
            category=entry.category,
            tags=list(entry.tags),
            version=entry.version,
            updated_at=entry.updated_at,
            rank=rank,
        )


@router.get(
    "/search",
    response_model=Page[Hit],
    responses=errors(BAD_CURSOR, (403, "The caller may read none of the kinds."), INVALID),
)
async def search(
    principal: CurrentPrincipal,
    uow: Uow,
    deps: AppDeps,
    pages: Pages,
    q: Annotated[str | None, Query(max_length=MAX_QUERY, description="Words to find.")] = None,
    kind: Annotated[list[EntryKind], Query(max_length=4, description="Only these kinds.")] = [],  # noqa: B006 - FastAPI copies query defaults per request
    category: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[CatalogStatus | None, Query(description="Lifecycle.")] = None,
    tag: Annotated[
        list[Annotated[str, Query(max_length=64)]],
        Query(max_length=MAX_TAG_FILTERS, description="Entries with all these tags."),
    ] = [],  # noqa: B006 - FastAPI copies query defaults per request
) -> Page[Hit]:
    """The tenant's catalog entries matching `q` (full text over names, descriptions and
    tags, and fuzzy name matches), best first; only the kinds the caller may read
    (`<kind>s:read`)."""
    may_read = [k for k in EntryKind if principal.has(f"{k.value}s:read")]
    kinds = handlers.readable(kind, may_read)
    if not kinds:
        raise Forbidden("insufficient_capability", "the caller may read none of these kinds")
    query = query_of(q, kinds, category, status, tag)
    found = await handlers.search(
        handlers.SearchCatalog(query, shaped(pages, float, UUID), pages.limit), uow, deps
    )
    page = paginate(found, pages.limit, lambda hit: (hit[1], hit[0].id))
    return Page[Hit](items=[Hit.of(e, r) for e, r in page.items], next_cursor=page.next_cursor)
