"""Search through the real app: full text and fuzzy names, filters, ranking, cursor pages,
and only what the caller may read."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import asyncpg
from sqlalchemy import event, text

from agentsuite_catalog.domain.search import query_of
from agentsuite_catalog.repositories.search import TERMS, Keys, Search, keys_of, probe
from agentsuite_kit.db import make_engine
from tests.integration.catalog.harness import Service, auth
from tests.integration.catalog.test_tasks import group, task
from tests.integration.catalog.test_templates import template
from tests.integration.catalog.tools_support import published, register, tool_body


async def test_search_ranks_filters_and_pages(service: Service) -> None:
    tenant = uuid4()
    await published(service, tenant, "web.search")
    made = await service.client.post(
        "/v1/tools",
        json=tool_body(
            "pdf.reader",
            description="Reads invoices out of PDF documents",
            category="files",
            tags=["pdf"],
        ),
        headers=auth(tenant),
    )
    assert made.status_code == 201, made.text
    await group(service, tenant, "research")
    await task(service, tenant, "invoice.check", "research")
    await template(service, tenant, "leads")

    async def names(query: str) -> list[str]:
        r = await service.client.get(f"/v1/search?{query}", headers=auth(tenant))
        assert r.status_code == 200, r.text
        return [hit["name"] for hit in r.json()["items"]]

    # a word in the name (invoice.check) weighs more than in a description (pdf.reader)
    assert await names("q=invoices") == ["invoice.check", "pdf.reader"]
    assert await names("q=serch") == ["web.search"]  # a misspelt name, by trigrams
    assert await names("q=invoices&kind=task") == ["invoice.check"]
    assert await names("category=files") == ["pdf.reader"]
    assert await names("status=published") == ["web.search"]
    assert await names("tag=pdf") == ["pdf.reader"]
    assert await names("tag=web&tag=search") == ["web.search"]
    assert await names("q=nothing+like+this") == []

    first = await service.client.get("/v1/search?limit=2", headers=auth(tenant))
    seen = [h["name"] for h in first.json()["items"]]
    cursor = first.json()["next_cursor"]
    while cursor:
        page = await service.client.get(f"/v1/search?limit=2&cursor={cursor}", headers=auth(tenant))
        seen += [h["name"] for h in page.json()["items"]]
        cursor = page.json()["next_cursor"]
    assert sorted(seen) == ["invoice.check", "leads", "pdf.reader", "web.search"]

    other = await service.client.get("/v1/search?q=invoices", headers=auth(uuid4()))
    assert other.json()["items"] == []


async def test_search_shows_only_the_kinds_the_caller_may_read(service: Service) -> None:
    tenant = uuid4()
    await register(service, tenant, "only.tool")
    await task(service, tenant, "only.task")
    r = await service.client.get("/v1/search", headers=auth(tenant, ["tasks:read"]))
    assert [h["kind"] for h in r.json()["items"]] == ["task"]
    r = await service.client.get("/v1/search", headers=auth(tenant, ["tools:write"]))
    assert r.status_code == 403
    long = await service.client.get("/v1/search?q=" + "x" * 201, headers=auth(tenant))
    assert long.status_code == 422


FILLERS = """
INSERT INTO search_entries
    (id, tenant_id, kind, name, title, description, tags, status, updated_at, document)
SELECT gen_random_uuid(), CAST(:tenant AS uuid), 'tool', 'filler.n' || i, 'filler',
    'nothing to see', '{}', 'draft', now(),
    to_tsvector('english', 'filler n' || i || ' nothing to see')
FROM generate_series(1, 2000) AS i
"""


async def app_sql(service: Service, tenant: UUID | None, sql: str, *args: Any) -> list[Any]:
    """`sql` as the app role, in `tenant`'s scope as the unit of work sets it (or none)."""
    url = service.db.url(service.admin_url).replace("postgresql+asyncpg", "postgresql")
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            if tenant is not None:
                await conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenant))
            return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


async def test_a_text_search_reads_its_candidates_not_every_entry(service: Service) -> None:
    """Under RLS `@@` and `%` may not be index conditions (not leakproof), so a search that
    relies on them filters every entry of the tenant (20 ms a 10,000, NOTES.md item 3).
    The plan of the statement the app sends must read about as many entries as match."""
    tenant = uuid4()
    # enough entries that reading each is the planner's worse choice (few, it rightly
    # prefers a sequential scan), in bulk as the bench seeds them
    await service.owner_sql(FILLERS, tenant=str(tenant))
    await service.owner_sql(
        TERMS + " WHERE e.tenant_id = CAST(:tenant AS uuid)", tenant=str(tenant)
    )
    await service.owner_sql("ANALYZE search_entries")
    await service.owner_sql("ANALYZE search_terms")
    await register(service, tenant, "pay.invoice", description="reads invoices")
    sent: list[tuple[str, Any]] = []

    def capture(_c: Any, _cur: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM search_entries" in statement:
            sent.append((statement, parameters))

    engine = service.deps.runtime.engine.sync_engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        for q in ("invoices", "invoce"):  # a word, a misspelling (trigrams)
            r = await service.client.get(f"/v1/search?q={q}", headers=auth(tenant))
            assert [h["name"] for h in r.json()["items"]] == ["pay.invoice"], q
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert len(sent) == 2
    for statement, parameters in sent:
        [row] = await app_sql(
            service, tenant, f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", *parameters
        )
        scans = [
            n
            for n in nodes(json.loads(row[0])[0]["Plan"])
            if n.get("Relation Name") == "search_entries"
        ]
        read = sum(
            (n["Actual Rows"] + n.get("Rows Removed by Filter", 0)) * n["Actual Loops"]
            for n in scans
        )
        shown = [(n["Node Type"], n.get("Index Name"), n.get("Filter")) for n in scans]
        assert read <= 3, f"{read:.0f} entries read for one match: {shown}"


async def test_a_search_never_returns_another_tenants_entries(service: Service) -> None:
    """Both tenants have the same names and words; every query form (words, a misspelling,
    only a negation: the path that reads every entry) answers with the caller's own."""
    mine, theirs = uuid4(), uuid4()
    own = {(await register(service, mine, "ledger.sync"))["tool_id"]}
    await register(service, theirs, "ledger.sync")
    await register(service, theirs, "ledger.export", description="ledger export invoices")
    for q in ("ledger", "ledgr sync", "ledger sync", "invoices", "-nothing", "ledger or -sync"):
        r = await service.client.get(f"/v1/search?q={q}", headers=auth(mine))
        assert r.status_code == 200, r.text
        assert {h["id"] for h in r.json()["items"]} <= own, q
    assert {h["id"] for h in r.json()["items"]} == own
    # the terms are under the same policy: none of another tenant's, none without a tenant
    terms = "SELECT DISTINCT tenant_id FROM search_terms WHERE term = 'w ledger'"
    assert [r["tenant_id"] for r in await app_sql(service, mine, terms)] == [mine]
    assert await app_sql(service, None, terms) == []


WORDS = ["invoice", "ledger", "search", "web", "serve", "sheet", "email", "inbox", "sync", "pdf"]


async def test_the_candidates_are_every_match(service: Service) -> None:
    """The indexed path answers exactly as reading every entry does (what `keys=None`
    sends), over names and queries made to sit near pg_trgm's threshold."""
    rng = random.Random(5)  # noqa: S311 - test data, reproducible on purpose
    tenant = uuid4()

    def word() -> str:
        w = rng.choice(WORDS)
        cut = rng.randrange(len(w))
        return rng.choice([w, w[:cut] + w[cut + 1 :], w + rng.choice("sxe"), w[:4]])

    names = {f"{word()}.{word()}" for _ in range(150)}
    await service.owner_sql(
        """INSERT INTO search_entries
            (id, tenant_id, kind, name, title, description, tags, status, updated_at, document)
        SELECT gen_random_uuid(), CAST(:tenant AS uuid), 'tool', n, n, '', '{}', 'draft', now(),
            to_tsvector('english', translate(n, '.', ' '))
        FROM unnest(CAST(:names AS text[])) AS n""",
        tenant=str(tenant),
        names=sorted(names),
    )
    await service.owner_sql(
        TERMS + " WHERE e.tenant_id = CAST(:tenant AS uuid)", tenant=str(tenant)
    )
    queries = [word() for _ in range(60)] + [f"{word()} {word()}" for _ in range(30)]
    queries += ["invoice or -ledger", '"web search"', "sheet -sync", "the", "a.b"]
    engine = make_engine(service.db.url(service.admin_url), pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant)}
            )
            for q in queries:
                keys = keys_of(*(await conn.execute(probe(q))).one())
                answers = []
                for path in (keys, None):
                    statement = Search.statement(query_of(q), None, 1000, tenant, path)
                    answers.append([(r.id, r.rank) for r in await conn.execute(statement)])
                assert answers[0] == answers[1], q
    finally:
        await engine.dispose()


def test_keys_of_a_query() -> None:
    """querytree's quoting undone; negations only -> no keys (every entry); fewer skipped
    trigrams than a match shares at least (threshold x count)."""
    assert keys_of("T", 2, ["  a"], 0.3) is None  # `-word`
    none = keys_of("", 0, [], 0.3)  # only stop words
    assert none is not None
    assert none.terms == []
    keys = keys_of("'o''b' <-> 'x\\\\y' & 'o''b'", 5, ["  o", " ob", "ob "], 0.3)
    assert keys == Keys(("o'b", "x\\y"), ("  o", " ob", "ob "), every_word=True, skipped=0)
    assert len(keys.terms) == 5
    six = keys_of("'serch'", 1, ["  s", " se", "ch ", "erc", "rch", "ser"], 0.3)
    assert six is not None
    assert six.skipped == 1
    assert "g   s" not in six.terms
    either = keys_of("'a' | 'b'", 3, [], 0.3)
    assert either is not None
    assert not either.every_word
