"""Search entries: kept current by every write, read ranked (full text + trigrams)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Float, and_, cast, func, literal, literal_column, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from agentsuite_catalog.domain.search import Entry, EntryKind, Query
from agentsuite_catalog.repositories.tables import search_entries as entries
from agentsuite_contracts.catalog import CatalogStatus
from agentsuite_kit.db import Repository
from agentsuite_kit.http.pagination import CursorValue

# full text finds words, trigrams find a misspelt or partial name; both add to the rank.
# The configuration and weights are SQL literals of their own types (regconfig, "char"):
# bound as parameters they arrive as varchar, which no overload of these functions takes.
CONFIG: Any = literal_column("'english'::regconfig")


def _weight(letter: str) -> Any:
    return literal_column(f"'{letter}'::\"char\"")


def _words(entry: Entry) -> str:
    # `web.search` is one token to the parser: its parts are words to a reader
    name = entry.name.replace(".", " ").replace("_", " ").replace("-", " ")
    return f"{name} {entry.title}"


class Search(Repository):
    async def put(self, entry: Entry) -> None:
        document = (
            func.setweight(func.to_tsvector(CONFIG, _words(entry)), _weight("A"))
            .op("||")(func.setweight(func.to_tsvector(CONFIG, " ".join(entry.tags)), _weight("B")))
            .op("||")(func.setweight(func.to_tsvector(CONFIG, entry.description), _weight("C")))
        )
        values: dict[str, Any] = {
            "tenant_id": entry.tenant_id,
            "kind": entry.kind.value,
            "name": entry.name,
            "title": entry.title,
            "description": entry.description,
            "category": entry.category,
            "tags": list(entry.tags),
            "status": entry.status.value,
            "version": entry.version,
            "updated_at": entry.updated_at,
            "document": document,
        }
        row = pg_insert(entries).values(id=entry.id, **values)
        await self.session.execute(
            row.on_conflict_do_update(
                index_elements=[entries.c.id], set_={k: row.excluded[k] for k in values}
            )
        )

    async def find(
        self, query: Query, after: Sequence[CursorValue] | None, limit: int
    ) -> list[tuple[Entry, float]]:
        """Up to `limit + 1` entries, best first, after the cursor's (rank, id)."""
        statement = self.statement(query, after, limit, self.session.info["tenant"])
        rows = (await self.session.execute(statement)).mappings()
        return [
            (
                Entry(
                    kind=EntryKind(r["kind"]),
                    id=r["id"],
                    tenant_id=r["tenant_id"],
                    name=r["name"],
                    title=r["title"],
                    description=r["description"],
                    status=CatalogStatus(r["status"]),
                    updated_at=r["updated_at"],
                    category=r["category"],
                    tags=tuple(r["tags"]),
                    version=r["version"],
                ),
                float(r["rank"]),
            )
            for r in rows
        ]

    @staticmethod
    def statement(
        query: Query, after: Sequence[CursorValue] | None, limit: int, tenant: Any
    ) -> Any:
        """The ranked query (`bench/catalog.py --explain` prints its plan). The tenant is
        named although RLS confines the rows anyway: uuid equality is leakproof, so the
        planner may use the tenant index before the RLS filter, which it may not for the
        text-search operators."""
        conditions: list[Any] = [entries.c.tenant_id == tenant]
        if query.text:
            tsq = func.websearch_to_tsquery(CONFIG, query.text)
            said = literal(query.text)
            # `%`: the name is like the query as a whole (a misspelling); a word of a name
            # is in the vector already (`_words`). Under RLS neither `@@` nor `%` is
            # leakproof, so PostgreSQL filters the tenant's rows one by one instead of
            # using the GIN indexes: see NOTES.md (search p95)
            conditions.append(or_(entries.c.document.op("@@")(tsq), said.op("%")(entries.c.name)))
            near = func.similarity(said, entries.c.name)
            rank = cast(func.ts_rank_cd(entries.c.document, tsq) + near, Float)
        else:
            rank = cast(literal(0.0), Float)
        if query.kinds:
            conditions.append(entries.c.kind.in_([k.value for k in query.kinds]))
        if query.category is not None:
            conditions.append(entries.c.category == query.category)
        if query.status is not None:
            conditions.append(entries.c.status == query.status.value)
        if query.tags:
            conditions.append(entries.c.tags.contains(list(query.tags)))
        ranked = select(entries, rank.label("rank")).where(*conditions).subquery()
        outer = select(ranked).order_by(ranked.c.rank.desc(), ranked.c.id).limit(limit + 1)
        if after is not None:
            last_rank, last_id = after
            outer = outer.where(
                or_(
                    ranked.c.rank < last_rank,
                    and_(ranked.c.rank == last_rank, ranked.c.id > last_id),
                )
            )
        return outer
