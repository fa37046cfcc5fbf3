"""catalog's agent routes through the real app: revisions, the tools they may call, and
the events execution's agent projection consumes."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from aiokafka import AIOKafkaConsumer

from agentsuite_contracts.catalog import AgentCreated, AgentDeprecated, AgentUpdated
from agentsuite_contracts.envelope import Envelope
from agentsuite_contracts.topic_names import CATALOG_AGENTS_V1
from agentsuite_execution.handlers.projections import AGENTS as EXECUTION_AGENTS
from agentsuite_kit.messaging.consumer import handled_adapter
from tests.integration.catalog.harness import Service, auth
from tests.integration.catalog.tools_support import published
from tests.integration.kafka_helpers import eventually


def agent_body(name: str, tools: list[dict[str, Any]], **more: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "instructions": "You help.",
        "model": "fast",
        "tools": tools,
    }
    body["limits"] = {"max_steps": 5, "max_tokens": 1000}
    return body | more


async def agent_events(service: Service, agent_id: str, count: int) -> list[Envelope[Any]]:
    """The first `count` events of agent `agent_id`, decoded as execution decodes them."""
    adapter = handled_adapter(list(EXECUTION_AGENTS))
    found: list[Envelope[Any]] = []
    consumer = AIOKafkaConsumer(
        CATALOG_AGENTS_V1,
        bootstrap_servers=service.kafka,
        group_id=None,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:

        async def arrived() -> bool:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                found.extend(
                    adapter.validate_json(r.value) for r in records if r.key == agent_id.encode()
                )
            return len(found) >= count

        await eventually(arrived, within=60)
    finally:
        await consumer.stop()
    return found


async def make_agent(service: Service, tenant: UUID) -> dict[str, Any]:
    tool = await published(service, tenant, f"t{uuid4().hex[:8]}")
    pins = [{"name": tool["name"], "version": tool["version"]}]
    made = await service.client.post(
        "/v1/agents", json=agent_body("helper", pins), headers=auth(tenant)
    )
    assert made.status_code == 201, made.text
    view: dict[str, Any] = made.json()
    return view


async def test_an_agent_is_revised_published_and_deprecated_with_its_events(
    service: Service,
) -> None:
    tenant = uuid4()
    first = await make_agent(service, tenant)
    agent_id = first["agent_id"]
    assert (first["number"], first["status"]) == (1, "draft")
    assert first["spec"]["tool_pins"][0]["version"] == "1.0.0"
    base = f"/v1/agents/{agent_id}/revisions"
    prompted = {"prompt": {"name": "helper", "label": "production"}, "model": "smart"}
    second = await service.client.post(base, json=prompted, headers=auth(tenant))
    assert (second.status_code, second.json()["number"]) == (201, 2), second.text
    done = await service.client.post(f"{base}/2/publish", headers=auth(tenant))
    assert (done.status_code, done.json()["status"]) == (200, "published"), done.text
    gone = await service.client.post(
        f"/v1/agents/{agent_id}/deprecate", json={"reason": "replaced"}, headers=auth(tenant)
    )
    assert gone.status_code == 200, gone.text
    late = await service.client.post(base, json=prompted, headers=auth(tenant))
    assert (late.status_code, late.json()["code"]) == (409, "agent_deprecated")

    events = await agent_events(service, agent_id, 4)
    payloads = [e.payload for e in events]
    assert [type(p) for p in payloads] == [
        AgentCreated,
        AgentUpdated,
        AgentUpdated,
        AgentDeprecated,
    ]
    assert isinstance(payloads[2], AgentUpdated)
    assert (payloads[2].status, payloads[2].spec.version) == ("published", 2)
    assert payloads[2].spec.model_dump(mode="json") == done.json()["spec"]
    # a projection keeps the deprecated agent's definition without calling catalog
    assert isinstance(payloads[3], AgentDeprecated)
    assert payloads[3].spec is not None
    assert payloads[3].spec.model_dump(mode="json") == done.json()["spec"]


async def test_tools_an_agent_names_must_be_the_tenants_and_published(service: Service) -> None:
    tenant, other = uuid4(), uuid4()
    elsewhere = await published(service, other, "elsewhere")
    pins = [{"name": elsewhere["name"]}]
    r = await service.client.post("/v1/agents", json=agent_body("a", pins), headers=auth(tenant))
    assert (r.status_code, r.json()["code"], r.json()["field"]) == (
        422,
        "tool_unknown",
        "tools[0].name",
    )
    mine = await published(service, tenant, "mine")
    pins = [{"name": mine["name"], "version": "2.0.0"}]
    r = await service.client.post("/v1/agents", json=agent_body("b", pins), headers=auth(tenant))
    assert (r.status_code, r.json()["code"], r.json()["field"]) == (
        422,
        "tool_version_unpublished",
        "tools[0].version",
    )
    rows = await service.owner_sql("SELECT count(*) FROM agents WHERE tenant_id = :t", t=tenant)
    assert rows[0][0] == 0
