"""Catalog to execution through the real services: catalog imports a petstore-style
OpenAPI document (its server is this test's HTTP server, which checks the bearer token)
and the tools of a real MCP server (the SDK's), publishes them through its API; its relay
puts the events on catalog.tools.v1 and execution's consumer projects them; a plan run in
execution calls the imported operations (path, query, header and body parameters) and an
MCP tool with the tenant's secrets. The secrets reach their servers and nowhere else: no
log line, no record on any topic, no stored row, no API answer."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
import yaml
from aiohttp import web
from aiokafka import AIOKafkaConsumer, TopicPartition
from yarl import URL

from agentsuite_cli.provision import deprovision
from agentsuite_contracts.steps import PlanStep, StepKind, ToolStep
from agentsuite_contracts.topic_names import PLANNING_PLANS_V1
from agentsuite_kit.messaging.admin import list_topics
from tests.integration.catalog import harness as catalog_harness
from tests.integration.execution import harness as execution_harness
from tests.integration.execution.bindings_support import api_answers, run_events
from tests.integration.execution.engine_support import wait_for
from tests.integration.execution.mcp_support import mcp_server
from tests.integration.execution.publish import plan_approved, publish
from tests.integration.kafka_helpers import eventually

PETSTORE = Path(__file__).parents[1] / "data" / "petstore-local.yaml"
TOKEN = "pets-7f3a9c21-bearer-secret-value"
MCP_TOKEN = "mcp-0b6e4d85-bearer-secret-value"
SECRETS = (TOKEN, MCP_TOKEN)
TOUCHED = ("catalog.", "planning.", "execution.")
# a path parameter carrying every character that could leave its segment
PET_ID = "a/../b c?x=1#frag@evil.example.com"


@pytest.fixture(scope="module")
async def catalog(
    pg_admin_url: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[catalog_harness.Service]:
    db = await catalog_harness.create_db(
        pg_admin_url, tmp_path_factory.mktemp("c2e-catalog") / "pw.json"
    )
    # the test's servers listen on 127.0.0.1, which the SSRF guard refuses otherwise
    settings = catalog_harness.make_settings(
        db.url(pg_admin_url), kafka_bootstrap, allowed_hosts=("127.0.0.1",)
    )
    try:
        async with catalog_harness.running(settings, db, pg_admin_url) as started:
            yield started
    finally:
        await deprovision(pg_admin_url, [db])


@pytest.fixture
def execution(engine: execution_harness.Execution) -> execution_harness.Execution:
    """The package's engine (`conftest.py`), not an app of this module's own: an execution
    app with its own database joins execution's consumer groups beside the package's apps,
    which stay up for the session, and gets only some partitions of catalog.tools.v1 (the
    rest were projected into the package's database: 'condition not met within 90s' in a
    full run)."""
    return engine


@dataclass
class Petstore:
    """The petstore's server: answers only the expected bearer token, records what each
    call carried, and echoes the credential in a pet's tag (a tool leaking it)."""

    token: str
    url: str = ""
    seen: list[dict[str, Any]] = field(default_factory=list)

    def allowed(self, request: web.Request) -> bool:
        got = request.headers.get("Authorization")
        self.seen.append(
            {
                "method": request.method,
                "raw_path": request.raw_path,
                "auth": got,
                "request_id": request.headers.get("X-Request-Id"),
            }
        )
        return got == f"Bearer {self.token}"

    async def list_pets(self, request: web.Request) -> web.Response:
        if not self.allowed(request):
            return web.json_response({"error": "unauthorized"}, status=401)
        limit = int(request.query.get("limit", "10"))
        return web.json_response([{"id": i, "name": f"pet{i}", "tag": None} for i in range(limit)])

    async def create_pet(self, request: web.Request) -> web.Response:
        if not self.allowed(request):
            return web.json_response({"error": "unauthorized"}, status=401)
        self.seen[-1]["body"] = await request.json()
        return web.Response(status=201)

    async def show_pet(self, request: web.Request) -> web.Response:
        if not self.allowed(request):
            return web.json_response({"error": "unauthorized"}, status=401)
        pet_id = URL.build(path=request.raw_path, encoded=True).parts[-1]
        tag = request.headers.get("Authorization")
        return web.json_response({"id": 1, "name": pet_id, "tag": tag})


@asynccontextmanager
async def petstore(token: str) -> AsyncIterator[Petstore]:
    store = Petstore(token)
    app = web.Application()
    app.router.add_get("/v1/pets", store.list_pets)
    app.router.add_post("/v1/pets", store.create_pet)
    # any raw path under /v1/pets/: the test reads the segment the call sent
    app.router.add_get("/v1/pets/{rest:.+}", store.show_pet)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    store.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield store
    finally:
        await runner.cleanup()


def created(report: dict[str, Any]) -> dict[str, str]:
    """Tool name -> tool id of what an import created."""
    return {o["name"]: o["tool_id"] for o in report["operations"] if o["outcome"] == "created"}


async def import_and_publish(
    catalog: catalog_harness.Service, tenant: UUID, store: Petstore, mcp_url: str
) -> dict[str, str]:
    """Both imports through catalog's API, the tools the run calls published; their ids."""
    headers = catalog_harness.auth(tenant)
    document = yaml.safe_load(PETSTORE.read_text())
    document["servers"][0]["variables"]["port"]["default"] = store.url.rsplit(":", 1)[1]
    answer = await catalog.client.post(
        "/v1/tools/import/openapi",
        params={"prefix": "petstore.", "credential": "pets-token"},
        json=document,
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["failed"] == 0, answer.text
    tools = created(answer.json())
    answer = await catalog.client.post(
        "/v1/tools/import/mcp",
        json={"url": mcp_url, "prefix": "weather.", "credential": "mcp-token"},
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    tools |= created(answer.json())
    wanted = [
        "petstore.list_pets",
        "petstore.create_pets",
        "petstore.show_pet_by_id",
        "weather.whoami",
    ]
    for name in wanted:
        published = await catalog.client.post(
            f"/v1/tools/{tools[name]}/versions/1.0.0/publish", headers=headers
        )
        assert published.status_code == 200, published.text
    return {name: tools[name] for name in wanted}


def step(key: str, tool: str, input: dict[str, Any]) -> PlanStep:
    return PlanStep(key=key, name=key, kind=StepKind.TOOL, tool=ToolStep(tool=tool, input=input))


async def every_record(kafka: str) -> list[bytes]:
    """Every record (key, value and headers) of every topic the run touched: catalog's,
    planning's and execution's, with their retry and dead-letter topics; from the beginning
    up to the end offsets when called. Fails only when reading stops making progress."""
    # the partitions from the admin API: a fresh consumer's metadata may not know every
    # topic yet (on Apache Kafka it knew none: "No partitions are currently assigned")
    counts = await list_topics(kafka)
    parts = [
        TopicPartition(t, p) for t, n in counts.items() if t.startswith(TOUCHED) for p in range(n)
    ]
    assert parts, counts
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        found: list[bytes] = []
        idle = 0
        while [tp for tp in parts if await consumer.position(tp) < ends[tp]]:
            batch = await consumer.getmany(timeout_ms=500, max_records=5_000)
            idle = 0 if batch else idle + 1
            assert idle < 120, "no record read for 60 s before the end offsets"
            for records in batch.values():
                for record in records:
                    headers = b"".join(k.encode() + v for k, v in record.headers or [])
                    found.append((record.key or b"") + (record.value or b"") + headers)
        return found
    finally:
        await consumer.stop()


async def every_row(owner_sql: Any) -> str:
    """Every row of every table of a service's database, as text."""
    tables = await owner_sql(
        "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM "
        "information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema "
        "NOT IN ('pg_catalog', 'information_schema')"
    )
    dumped: list[str] = []
    for (table,) in tables:
        rows = await owner_sql(f"SELECT t::text FROM {table} t")
        dumped.extend(row[0] for row in rows)
    return "\n".join(dumped)


async def start_run(
    execution: execution_harness.Execution, tenant: UUID, steps: list[PlanStep]
) -> UUID:
    """The plan approved as planning publishes it, then run through execution's API."""
    approved = plan_approved(steps=steps)
    await publish(execution.kafka, PLANNING_PLANS_V1, approved, tenant_id=tenant)

    async def runnable() -> bool:
        async with execution.deps.uow(tenant) as uow:
            return await uow.plans.approved(approved.plan_id, 1) is not None

    await eventually(runnable, within=60)
    started = await execution.client.post(
        "/v1/executions",
        json={"plan_id": str(approved.plan_id)},
        headers=execution_harness.auth(tenant),
    )
    assert started.status_code == 201, started.text
    return UUID(started.json()["execution_id"])


async def more_answers(
    catalog: catalog_harness.Service,
    execution: execution_harness.Execution,
    tenant: UUID,
    tools: dict[str, str],
) -> list[str]:
    """execution's secrets (metadata) and catalog's versions of the tools, as answered."""
    answers = []
    for name in ("pets-token", "mcp-token"):
        got = await execution.client.get(
            f"/v1/secrets/{name}", headers=execution_harness.auth(tenant)
        )
        assert got.status_code == 200, got.text
        answers.append(got.text)
    for tool_id in tools.values():
        got = await catalog.client.get(
            f"/v1/tools/{tool_id}/versions/1.0.0", headers=catalog_harness.auth(tenant)
        )
        assert got.status_code == 200, got.text
        answers.append(got.text)
    return answers


async def test_imported_tools_run_in_execution_and_their_secrets_leak_nowhere(
    catalog: catalog_harness.Service,
    execution: execution_harness.Execution,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    tenant = uuid4()
    exec_auth = execution_harness.auth(tenant)
    for name, value in (("pets-token", TOKEN), ("mcp-token", MCP_TOKEN)):
        put = await execution.client.put(
            f"/v1/secrets/{name}", json={"value": value}, headers=exec_auth
        )
        assert put.status_code == 201, put.text
    async with petstore(TOKEN) as store, mcp_server(MCP_TOKEN) as mcp:
        tools = await import_and_publish(catalog, tenant, store, mcp.url)

        async def projected() -> bool:
            async with execution.deps.uow(tenant) as uow:
                found = [await uow.tools.resolve(name, None) for name in tools]
            return all(f is not None and f.version == "1.0.0" for f in found)

        # catalog's relay -> catalog.tools.v1 -> execution's consumer
        await eventually(projected, within=90)
        steps = [
            step("list", "petstore.list_pets", {"limit": 2, "X-Request-Id": "req-42"}),
            step("create", "petstore.create_pets", {"body": {"id": 7, "name": "kit"}}),
            step("show", "petstore.show_pet_by_id", {"petId": PET_ID}),
            step("whoami", "weather.whoami", {}),
        ]
        execution_id = await start_run(execution, tenant, steps)
        run = await wait_for(execution, tenant, execution_id, within=90)
        assert run.status == "completed", run.error
        events = await run_events(execution, execution_id)
    seen = {(s["method"], s["raw_path"].split("?")[0]): s for s in store.seen}
    assert [s["auth"] for s in store.seen] == [f"Bearer {TOKEN}"] * 3
    assert mcp.seen_auth == [f"Bearer {MCP_TOKEN}"]
    listing = seen[("GET", "/v1/pets")]
    assert (URL(listing["raw_path"]).query["limit"], listing["request_id"]) == ("2", "req-42")
    assert seen[("POST", "/v1/pets")]["body"] == {"id": 7, "name": "kit"}
    [shown] = [s for s in store.seen if s["raw_path"].startswith("/v1/pets/")]
    assert URL.build(path=shown["raw_path"], encoded=True).parts == ("/", "v1", "pets", PET_ID)

    answers = await api_answers(execution, tenant, execution_id)
    outputs = {i["key"]: i["output"] for i in json.loads(answers[1])["items"]}
    assert [p["name"] for p in outputs["list"]] == ["pet0", "pet1"]
    assert outputs["create"] is None
    assert outputs["show"]["name"] == PET_ID
    assert "***" in outputs["show"]["tag"]  # the leaky tool's echo, masked
    assert outputs["whoami"]["ok"] is True
    answers += await more_answers(catalog, execution, tenant, tools)
    records = await every_record(execution.kafka)
    assert [e for e in events if b"execution.step.succeeded" in e]
    # what was read holds the run's events and catalog's (naming the secret, not holding it)
    assert [r for r in records if str(execution_id).encode() in r and b"step.succeeded" in r]
    assert [r for r in records if b"catalog.tool.published" in r and b"pets-token" in r]
    rows = await every_row(execution.owner_sql) + await every_row(catalog.owner_sql)
    assert str(execution_id) in rows
    lines = [f"{r.getMessage()} {vars(r)!r}" for r in caplog.records]
    for secret in SECRETS:
        assert not [a for a in answers if secret in a]
        assert not [r for r in records if secret.encode() in r]
        assert secret not in rows
        assert not [line for line in lines if secret in line]
