"""catalog's hot paths on this machine: search over a large catalog, and publishing.

    python bench/catalog.py [--tools 10000] [--versions 5] [--queries 300] [--publish 200]
    python bench/catalog.py --quick     # CI: 2,000 tools, 100 queries, 50 publishes

Starts embedded PostgreSQL and broker (or uses AGENTSUITE_BENCH_DATABASE_URL /
AGENTSUITE_BENCH_KAFKA_BOOTSTRAP_SERVERS), provisions catalog's database as `agentsuite up`
does and runs the real app in this process (one worker), reached through its ASGI
interface. One tenant gets `--tools` tools of `--versions` versions each (10,000 and 50,000
by default), seeded in bulk as the owner (the search entries with the same weighted
vectors and terms the app writes). Then:

- search: `GET /v1/search` with a mix of one-word, two-word, misspelt and filtered queries,
  one at a time: p50/p95/max ms (target: p95 < 20 ms on one worker);
- publish: `POST /v1/tools` then `POST .../publish` for `--publish` new tools: publishes/s,
  each with its compatibility check, its events written to the outbox and its entry.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

from bench.raw_baseline import servers  # noqa: E402  # after the path insert

WORDS = [
    "search",
    "web",
    "pdf",
    "invoice",
    "crm",
    "lead",
    "email",
    "calendar",
    "slack",
    "github",
    "jira",
    "weather",
    "stock",
    "news",
    "translate",
    "summarize",
    "classify",
    "extract",
    "image",
    "audio",
    "video",
    "sql",
    "sheet",
    "drive",
    "storage",
    "queue",
    "payment",
    "refund",
    "order",
    "customer",
    "ticket",
    "report",
    "chart",
    "forecast",
    "map",
    "route",
    "geocode",
    "sms",
    "notify",
    "approve",
    "sign",
    "contract",
    "policy",
    "audit",
    "log",
    "metric",
    "alert",
    "deploy",
    "build",
    "test",
    "lint",
]
QUERIES = ["invoice", "web search", "serch", "customer ticket", "pdf extract", "payment"]


def spec(name: str, version: str, words: list[str]) -> dict[str, Any]:
    return {
        "name": name,
        "version": version,
        "display_name": name,
        "description": " ".join(words),
        "category": words[0],
        "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}},
        "output_schema": {},
        "binding": {"kind": "builtin", "target": "echo", "config": {}},
        "tags": words[:2],
    }


async def seed(owner_url: str, tenant: UUID, tools: int, versions: int) -> None:
    """Tools, versions and search entries in bulk, as the app would have written them."""
    from sqlalchemy import insert, text

    from agentsuite_catalog.repositories.search import TERMS
    from agentsuite_catalog.repositories.tables import search_entries, tool_versions
    from agentsuite_catalog.repositories.tables import tools as tools_table
    from agentsuite_contracts.ids import uuid7
    from agentsuite_kit.db import make_engine

    rng = random.Random(7)
    engine = make_engine(owner_url, pool_size=1)
    now = time.time()
    at = datetime.now(UTC)
    try:
        for start in range(0, tools, 1_000):
            tool_rows, version_rows, entries = [], [], []
            for i in range(start, min(tools, start + 1_000)):
                words = rng.sample(WORDS, 6)
                tool_id, name = uuid7(), f"{words[0]}.{words[1]}{i}"
                head = f"{versions}.0.0"
                tool_rows.append(
                    {"id": tool_id, "tenant_id": tenant, "name": name, "head_version": head}
                )
                for v in range(1, versions + 1):
                    version_rows.append(
                        {
                            "id": uuid7(),
                            "tenant_id": tenant,
                            "tool_id": tool_id,
                            "version": f"{v}.0.0",
                            "major": v,
                            "minor": 0,
                            "patch": 0,
                            "status": "published",
                            "spec": spec(name, f"{v}.0.0", words),
                            "created_at": at,
                            "published_at": at,
                        }
                    )
                entries.append(
                    {
                        "id": tool_id,
                        "tenant_id": tenant,
                        "kind": "tool",
                        "name": name,
                        "title": name,
                        "description": " ".join(words),
                        "category": words[0],
                        "tags": words[:2],
                        "status": "published",
                        "version": head,
                        "updated_at": at,
                        "document": text(
                            "setweight(to_tsvector('english', :n), 'A') || "
                            "setweight(to_tsvector('english', :t), 'B') || "
                            "setweight(to_tsvector('english', :d), 'C')"
                        ).bindparams(
                            n=name.replace(".", " "), t=" ".join(words[:2]), d=" ".join(words)
                        ),
                    }
                )
            async with engine.begin() as conn:
                await conn.execute(text("SELECT set_config('app.all_tenants', 'on', true)"))
                await conn.execute(insert(tools_table), tool_rows)
                await conn.execute(insert(tool_versions), version_rows)
                for entry in entries:
                    await conn.execute(insert(search_entries).values(**entry))
                ids = [e["id"] for e in entries]
                await conn.execute(text(TERMS + " WHERE e.id = ANY(:ids)"), {"ids": ids})
        # as autovacuum leaves an insert-mostly table: statistics, and a visibility map that
        # lets the term lookup be an index-only scan
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            tables = "tools, tool_versions, search_entries, search_terms"
            await conn.execute(text(f"VACUUM (ANALYZE) {tables}"))
    finally:
        await engine.dispose()
    print(f"seeded {tools} tools, {tools * versions} versions in {time.time() - now:.1f} s")


async def explain(app_url: str, tenant: UUID) -> None:
    """The plan of each query as the app sends it, as the app role in the tenant's scope."""
    from sqlalchemy import text

    from agentsuite_catalog.domain.search import query_of
    from agentsuite_catalog.repositories.search import Search, keys_of, probe
    from agentsuite_kit.db import make_engine

    engine = make_engine(app_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant)}
            )
            for q in QUERIES:
                keys = keys_of(*(await conn.execute(probe(q))).one())
                statement = Search.statement(query_of(q), None, 20, tenant, keys)
                literal = {"literal_binds": True}
                sql = statement.compile(dialect=conn.dialect, compile_kwargs=literal)
                plan = await conn.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {sql}"))
                print(f"--- {q}")
                print("\n".join(row[0] for row in plan))
    finally:
        await engine.dispose()


async def compare(app_url: str, tenant: UUID, urls: list[str]) -> None:
    """The statement alone, as the app role: indexed (`keys`) and reading every entry of
    the tenant (`keys=None`: the plan before migration 0006), alternating so that both
    see the same load."""
    from urllib.parse import parse_qs, urlsplit

    from sqlalchemy import text

    from agentsuite_catalog.domain.search import EntryKind, query_of
    from agentsuite_catalog.repositories.search import Search, keys_of, probe
    from agentsuite_contracts.catalog import CatalogStatus
    from agentsuite_kit.db import make_engine

    engine = make_engine(app_url, pool_size=1)
    took: dict[str, list[float]] = {"indexed": [], "every entry": []}
    probed: list[float] = []
    by_text: dict[tuple[str, str], list[float]] = {}
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant)}
            )
            for url in urls:
                asked = parse_qs(urlsplit(url).query)
                status = asked.get("status")
                query = query_of(
                    asked["q"][0],
                    [EntryKind(k) for k in asked.get("kind", [])] or list(EntryKind),
                    None,
                    CatalogStatus(status[0]) if status else None,
                    asked.get("tag", []),
                )
                for label in took:
                    started = time.perf_counter()
                    keys = None
                    if label == "indexed":
                        keys = keys_of(*(await conn.execute(probe(query.text))).one())
                        probed.append((time.perf_counter() - started) * 1000)
                    statement = Search.statement(query, None, 20, tenant, keys)
                    (await conn.execute(statement)).all()
                    took[label].append((time.perf_counter() - started) * 1000)
                    by_text.setdefault((label, query.text), []).append(took[label][-1])
    finally:
        await engine.dispose()
    for label, values in took.items():
        print(
            f"  statement alone, {label}: p50 {statistics.median(values):.1f} ms, "
            f"p95 {percentile(values, 0.95):.1f} ms, min {min(values):.1f} ms"
        )
    print(f"  of which the probe (lexemes, trigrams): p50 {statistics.median(probed):.1f} ms")
    for (label, q), values in sorted(by_text.items(), key=lambda kv: kv[0][::-1]):
        print(f"    {q!r:18} {label:12} p50 {statistics.median(values):.1f} ms")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


async def measure(admin: str, kafka: str, args: argparse.Namespace) -> None:
    from agentsuite_cli.provision import deprovision
    from tests.integration.catalog.harness import auth, create_db, make_settings, running
    from tests.integration.catalog.tools_support import tool_body

    with tempfile.TemporaryDirectory(prefix="agentsuite-catalog-bench-") as tmp:
        db = await create_db(admin, Path(tmp) / "pw.json")
        try:
            tenant = uuid4()
            await seed(db.url(admin, owner=True), tenant, args.tools, args.versions)
            settings = make_settings(db.url(admin), kafka, log_level="WARNING")
            async with running(settings, db, admin) as service:
                headers = auth(tenant)
                rng = random.Random(11)
                urls = []
                for _ in range(args.queries):
                    q = rng.choice(QUERIES)
                    extra = rng.choice(["", "&status=published", "&kind=tool", "&tag=crm"])
                    urls.append(f"/v1/search?q={q}&limit=20{extra}")
                for url in urls[:20]:  # warm-up: plans and caches
                    await service.client.get(url, headers=headers)
                took: list[float] = []
                for url in urls:
                    started = time.perf_counter()
                    r = await service.client.get(url, headers=headers)
                    took.append((time.perf_counter() - started) * 1000)
                    assert r.status_code == 200, r.text
                base: list[float] = []
                for _ in range(50):  # the edge's own cost: a read of one tool by id
                    started = time.perf_counter()
                    await service.client.get(f"/v1/tools/{uuid4()}", headers=headers)
                    base.append((time.perf_counter() - started) * 1000)
                print(f"baseline GET /v1/tools/{{id}} (404): p50 {statistics.median(base):.1f} ms")
                if args.explain:
                    await explain(db.url(admin), tenant)
                if args.compare:
                    await compare(db.url(admin), tenant, urls)
                p50, p95 = statistics.median(took), percentile(took, 0.95)
                verdict = "met" if p95 < 20 else "MISSED"
                print(
                    f"search over {args.tools} tools / {args.tools * args.versions} versions: "
                    f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
                    f"min {min(took):.1f}, max {max(took):.1f} ms "
                    f"({len(took)} queries; target p95 < 20 ms: {verdict})"
                )
                started = time.perf_counter()
                made = []
                for i in range(args.publish):
                    r = await service.client.post(
                        "/v1/tools", json=tool_body(f"bench.new{i}"), headers=headers
                    )
                    made.append(r.json())
                created = time.perf_counter() - started
                started = time.perf_counter()
                for view in made:
                    url = f"/v1/tools/{view['tool_id']}/versions/{view['version']}/publish"
                    r = await service.client.post(url, headers=headers)
                    assert r.status_code == 200, r.text
                published = time.perf_counter() - started
                print(
                    f"register: {args.publish / created:.0f}/s; "
                    f"publish: {args.publish / published:.0f}/s ({args.publish} tools)"
                )
        finally:
            await deprovision(admin, [db])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tools", type=int, default=10_000)
    parser.add_argument("--versions", type=int, default=5)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--publish", type=int, default=200)
    parser.add_argument("--explain", action="store_true", help="print the query plans")
    parser.add_argument(
        "--compare",
        action="store_true",
        help="also time the search statement alone: indexed vs reading every entry",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="for CI (well under 90 s): 2,000 tools, 100 queries, 50 publishes",
    )
    args = parser.parse_args()
    if args.quick:
        args.tools, args.queries, args.publish = 2_000, 100, 50
    with servers() as (admin, kafka, label):
        print(f"catalog bench: broker {label}")
        asyncio.run(measure(admin, kafka, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
