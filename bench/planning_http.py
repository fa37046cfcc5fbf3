"""`POST /v1/plans/{id}/versions/{v}/validate` of a large plan through the real planning app
(bench/planning.py --http): embedded PostgreSQL and broker (or AGENTSUITE_BENCH_DATABASE_URL /
AGENTSUITE_BENCH_KAFKA_BOOTSTRAP_SERVERS), planning's database provisioned as `agentsuite up`
does, the app in this process reached through its ASGI interface. The plan's tools are put
in planning's catalog projection first, so validation reads and checks them as it would
after catalog's feed.

Printed: wall and CPU of the request over a few runs, then one profiled request split into
the domain's `validate` and what surrounds it (the version's read and JSON decode, the
catalog lookup, price and history reads, recording the result, the event and its size).
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import pstats
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from agentsuite_contracts.planning import PlanSnapshot
from bench.raw_baseline import servers

# (label, function name, file suffix) of the parts a validate request spends time in
PARTS = [
    ("domain validate (bench's target)", "validate", "domain/validation.py"),
    ("forecast", "forecast", "domain/forecast.py"),
    ("catalog lookup (DB)", "lookup_of", "handlers/checks.py"),
    ("prices (DB)", "of", "repositories/prices.py"),
    ("history (DB)", "of", "repositories/runs.py"),
    ("version read (DB)", "version_for", "handlers/plans.py"),
    ("JSON body -> PlanSnapshot", "model_validate", "pydantic/main.py"),
    ("record result (DB)", "set_validation", "repositories/plans.py"),
    ("commit (outbox + result)", "commit", "db/uow.py"),
]


def measure_http(plan: PlanSnapshot, *, runs: int) -> None:
    with servers() as (admin, kafka, label):
        asyncio.run(_measure(admin, kafka, plan, runs, label))


async def _seed_tools(service: Any, tenant: UUID, plan: PlanSnapshot) -> None:
    from bench.planning import tool_schema

    names = sorted({s.tool.tool for p in plan.phases for s in p.steps if s.tool is not None})
    now = datetime.now(UTC)
    for name in names:
        schema = json.dumps(tool_schema(int(name.removeprefix("tool"))))
        tool_id = uuid4()
        await service.owner_sql(
            "INSERT INTO catalog_tool_versions (tenant_id, name, version, tool_id, input_schema,"
            " published_at) VALUES (:t, :n, '1.2.0', :id, CAST(:s AS JSONB), :now)",
            t=tenant,
            n=name,
            id=tool_id,
            s=schema,
            now=now,
        )
        await service.owner_sql(
            "INSERT INTO catalog_tool_heads (tenant_id, name, tool_id, latest, latest_at,"
            " deprecated, as_of) VALUES (:t, :n, :id, '1.2.0', :now, false, :now)",
            t=tenant,
            n=name,
            id=tool_id,
            now=now,
        )


async def _measure(admin: str, kafka: str, plan: PlanSnapshot, runs: int, label: str) -> None:
    from agentsuite_cli.provision import deprovision
    from tests.integration.planning.harness import auth, create_db, make_settings, running

    with tempfile.TemporaryDirectory(prefix="agentsuite-planning-bench-") as tmp:
        db = await create_db(admin, Path(tmp) / "pw.json")
        try:
            settings = make_settings(db.url(admin), kafka, log_level="WARNING")
            async with running(settings, db, admin) as service:
                tenant = uuid4()
                await _seed_tools(service, tenant, plan)
                headers = auth(tenant)
                body = {
                    "name": plan.name,
                    "goal": plan.goal,
                    "phases": [p.model_dump(mode="json") for p in plan.phases],
                    "reason": "bench",
                }
                made = await service.client.post("/v1/plans", json=body, headers=headers)
                if made.status_code != 201:
                    print(f"http: creating the plan answered {made.status_code}: {made.text[:300]}")
                    return
                url = f"/v1/plans/{made.json()['id']}/versions/1/validate"

                async def once() -> tuple[float, float, Any]:
                    started, used = time.perf_counter(), time.process_time()
                    r = await service.client.post(url, headers=headers)
                    wall = (time.perf_counter() - started) * 1000
                    return wall, (time.process_time() - used) * 1000, r

                await once()  # warm-up: statements prepared, validators built
                took = [await once() for _ in range(runs)]
                answer = took[-1][2]
                if answer.status_code != 200:
                    print(f"http: validate answered {answer.status_code}: {answer.text[:300]}")
                    return
                issues = answer.json().get("issues", [])
                errors = [i for i in issues if i.get("severity") == "error"]
                wall = [t[0] for t in took]
                cpu = [t[1] for t in took]
                print(
                    f"{'HTTP POST .../validate':<34} wall median {statistics.median(wall):6.2f} "
                    f"max {max(wall):6.2f} ms  cpu median {statistics.median(cpu):6.2f} ms "
                    f"({runs} requests, {label}; {len(issues)} issues, {len(errors)} errors; "
                    f"response {len(answer.content)} bytes)"
                )
                await _profiled(service, url, headers, tenant)
        finally:
            await deprovision(admin, [db])


async def _profiled(service: Any, url: str, headers: dict[str, str], tenant: UUID) -> None:
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    await service.client.post(url, headers=headers)
    profile.disable()
    total = (time.perf_counter() - started) * 1000
    # (file, line, name) -> (calls, calls, own s, cumulative s, callers); documented, not typed
    stats: Any = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    scale = total / max(1e-9, sum(v[2] for v in stats.values()) * 1000)  # profiled -> wall
    parts = []
    for label, name, suffix in PARTS:
        spent = sum(
            v[3] for (file, _, fn), v in stats.items() if fn == name and file.endswith(suffix)
        )
        if spent:
            parts.append(f"{label} {spent * 1000 * scale:.1f}")
    rows = await service.owner_sql(
        "SELECT octet_length(value), type FROM outbox WHERE tenant_id = :t"
        " AND type = 'planning.plan.validated' ORDER BY id DESC LIMIT 1",
        t=tenant,
    )
    event = f"; planning.plan.validated event {rows[0][0]} bytes" if rows else ""
    # approximate: the profiler slows Python code far more than C (pydantic, asyncpg)
    print(f"  one profiled request, {total:.1f} ms under the profiler (ms, scaled to it):")
    print("  " + "; ".join(parts) + event)
