"""Search entries: kept current by every write, read ranked (full text + trigrams).

Under RLS PostgreSQL runs a qual ahead of the policy's, and so as an index condition, only
when its operator is leakproof; `@@` and pg_trgm's `%` are not (only a superuser may mark
them), so GIN indexes on the vector and the name are never used by a tenant's query. Each
entry's lexemes and name trigrams are therefore also rows of `search_terms`, found by text
equality (leakproof) under the same policy; `@@` and `%` then run on those candidates only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Float,
    and_,
    any_,
    bindparam,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, TEXT
from sqlalchemy.dialects.postgresql import insert as pg_insert

from agentsuite_catalog.domain.search import Entry, EntryKind, Query
from agentsuite_catalog.repositories.tables import search_entries as entries
from agentsuite_catalog.repositories.tables import search_terms as terms
from agentsuite_contracts.catalog import CatalogStatus
from agentsuite_kit.db import Repository
from agentsuite_kit.http.pagination import CursorValue

# full text finds words, trigrams find a misspelt or partial name; both add to the rank.
# The configuration and weights are SQL literals of their own types (regconfig, "char"):
# bound as parameters they arrive as varchar, which no overload of these functions takes.
CONFIG: Any = literal_column("'english'::regconfig")


# An entry's terms from its stored vector and name (the bench and migration 0006 write the
# same rows); append a WHERE on `e`.
TERMS = """
INSERT INTO search_terms (tenant_id, term, entry_id, grams)
SELECT e.tenant_id, t.term, e.id, t.grams
FROM search_entries AS e
CROSS JOIN LATERAL (
    SELECT 'w ' || w, 0 FROM unnest(tsvector_to_array(e.document)) AS w
    UNION ALL
    SELECT 'g ' || g, cardinality(show_trgm(e.name)) FROM unnest(show_trgm(e.name)) AS g
) AS t (term, grams)
"""

# a lexeme as `querytree` prints it: quoted, with ' and \ doubled
_LEXEME = re.compile(r"'((?:[^'\\]|''|\\.)*)'")
_UNESCAPE = re.compile(r"''|\\(.)")


def lexemes(tree: str) -> list[str]:
    """The lexemes of a `querytree` (its index-searchable part)."""
    return [_UNESCAPE.sub(lambda m: m.group(1) or "'", x) for x in _LEXEME.findall(tree)]


def probe(words: str) -> Any:
    """What `keys_of` needs: the query's index-searchable part, its size, its trigrams and
    the `%` threshold."""
    tsq = func.websearch_to_tsquery(CONFIG, words)
    return select(func.querytree(tsq), func.numnode(tsq), func.show_trgm(words), func.show_limit())


@dataclass(frozen=True, slots=True)
class Keys:
    """What a text query's candidates are found by: its lexemes (a match has all of them
    when its searchable part has no `|`, else one) and its name trigrams, of which the
    `skipped` likeliest to be common are not looked up.

    A name `%` like the query (similarity s / (q + n - s) >= t, s shared of the query's q
    and the name's n distinct trigrams) shares at least t * q of them (n >= s), so with
    fewer than that skipped it still shares one looked up ("prefix filtering").
    """

    words: tuple[str, ...]
    grams: tuple[str, ...]
    every_word: bool
    skipped: int

    @property
    def terms(self) -> list[str]:
        # a word's first letter ("  x") and first two (" xy") are shared by the most names
        common = sorted(self.grams, key=lambda g: (not g.startswith("  "), not g.startswith(" ")))
        looked_up = common[self.skipped :]
        return [f"w {w}" for w in self.words] + [f"g {g}" for g in looked_up]


def keys_of(tree: str, nodes: int, grams: Sequence[str], limit: float) -> Keys | None:
    """The keys of `probe`'s answer, or None when a match needs none of the query's words
    (only negations: `-word`, `a or -b`), so that every entry is a candidate."""
    if tree == "T" and nodes > 0:
        return None
    # the slack keeps float rounding from skipping one gram too many
    skipped = max(0, math.ceil(limit * len(grams) - 1e-6) - 1)
    return Keys(tuple(dict.fromkeys(lexemes(tree))), tuple(grams), "|" not in tree, skipped)


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
        await self.session.execute(terms.delete().where(terms.c.entry_id == entry.id))
        await self.session.execute(text(TERMS + " WHERE e.id = :id"), {"id": entry.id})

    async def keys(self, words: str) -> Keys | None:
        tree, nodes, grams, limit = (await self.session.execute(probe(words))).one()
        return keys_of(tree, nodes, grams, limit)

    async def find(
        self, query: Query, after: Sequence[CursorValue] | None, limit: int
    ) -> list[tuple[Entry, float]]:
        """Up to `limit + 1` entries, best first, after the cursor's (rank, id)."""
        keys = await self.keys(query.text) if query.text else None
        statement = self.statement(query, after, limit, self.session.info["tenant"], keys)
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
        query: Query,
        after: Sequence[CursorValue] | None,
        limit: int,
        tenant: Any,
        keys: Keys | None = None,
    ) -> Any:
        """The ranked query (`bench/catalog.py --explain` prints its plan). The tenant is
        named although RLS confines the rows anyway: uuid and text equality are
        leakproof, so the planner may use the indexes ahead of the RLS filter, which it may
        not for the text-search operators. `keys` (from `keys()`) limit a text query to
        the entries having one of them; None reads every entry of the tenant."""
        conditions: list[Any] = []
        if query.text and keys is not None:
            # by id only: named here, the tenant would let the planner prefer the tenant
            # index and filter the candidates out of every entry (RLS still applies)
            conditions.append(entries.c.id == any_(func.array(_candidates(tenant, keys))))
        else:
            conditions.append(entries.c.tenant_id == tenant)
        if query.text:
            tsq = func.websearch_to_tsquery(CONFIG, query.text)
            said = literal(query.text)
            # `%`: the name is like the query as a whole (a misspelling); a word of a name
            # is in the vector already (`_words`)
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


def _candidates(tenant: Any, keys: Keys) -> Any:
    """Entries with the query's words (`Keys.every_word`), or with enough of its trigrams
    to be `%` like it: at most `found + skipped` shared (and no more than the name has),
    so similarity is at most that over the union (pg_trgm's formula); `%` decides exactly
    later (the slack only keeps float rounding from losing a candidate).
    """
    words = func.count().filter(terms.c.grams == 0)
    found = func.count().filter(terms.c.grams > 0)
    shared = cast(func.least(found + keys.skipped, func.max(terms.c.grams)), Float)
    union = func.nullif(len(keys.grams) + func.max(terms.c.grams) - shared, 0)
    return (
        select(terms.c.entry_id)
        .where(
            terms.c.tenant_id == tenant,
            terms.c.term == any_(bindparam("keys", keys.terms, type_=ARRAY(TEXT))),
        )
        .group_by(terms.c.entry_id)
        .having(
            or_(
                words >= (max(1, len(keys.words)) if keys.every_word else 1),
                shared / union >= func.show_limit() - 0.0001,
            )
        )
        .scalar_subquery()
    )
