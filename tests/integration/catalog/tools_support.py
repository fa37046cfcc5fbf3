"""What catalog's integration tests share: tool bodies, a registered tool, and the events
catalog published on catalog.tools.v1, decoded as execution's consumer decodes them."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from aiokafka import AIOKafkaConsumer

from agentsuite_contracts.catalog import ToolRegistered, ToolUpdated, ToolVersionDeprecated
from agentsuite_contracts.envelope import Envelope
from agentsuite_contracts.topic_names import CATALOG_TOOLS_V1
from agentsuite_execution.handlers.projections import TOOLS as EXECUTION_TOOLS
from agentsuite_kit.messaging.consumer import handled_adapter
from tests.integration.catalog.harness import Service, auth
from tests.integration.kafka_helpers import eventually

QUERY: dict[str, Any] = {
    "type": "object",
    "properties": {"q": {"type": "string"}, "limit": {"type": "integer"}},
    "required": ["q"],
}


def tool_body(tool: str, version: str = "1.0.0", **more: Any) -> dict[str, Any]:
    """A valid body registering tool `tool`; `more` replaces fields (`name` too)."""
    body: dict[str, Any] = {
        "name": tool,
        "version": version,
        "description": f"{tool}: search the web",
        "category": "search",
        "tags": ["web", "Search"],
        "input_schema": QUERY,
        "output_schema": {"type": "object"},
        "binding": {
            "kind": "http",
            "url": "https://api.example.com/search/{q}",
            "method": "GET",
            "auth": {"scheme": "bearer", "credential": "search-token"},
        },
        "side_effect": "read_only",
        "retry": {"max_attempts": 3, "backoff_ms": 500, "max_backoff_ms": 5000},
    }
    body.update(more)
    return body


def version_body(version: str, **more: Any) -> dict[str, Any]:
    body = tool_body("unused", version)
    del body["name"]
    return body | more


async def register(service: Service, tenant: UUID, name: str, **more: Any) -> dict[str, Any]:
    made = await service.client.post(
        "/v1/tools", json=tool_body(name, **more), headers=auth(tenant)
    )
    assert made.status_code == 201, made.text
    view: dict[str, Any] = made.json()
    return view


async def published(service: Service, tenant: UUID, name: str) -> dict[str, Any]:
    view = await register(service, tenant, name)
    url = f"/v1/tools/{view['tool_id']}/versions/{view['version']}/publish"
    done = await service.client.post(url, headers=auth(tenant))
    assert done.status_code == 200, done.text
    result: dict[str, Any] = done.json()
    return result


async def tool_events(service: Service, tool_id: UUID | str, count: int) -> list[Envelope[Any]]:
    """The first `count` events of tool `tool_id` on catalog.tools.v1, in order, decoded
    with the payload types execution's projection consumes (others are skipped there too)."""
    adapter = handled_adapter(
        [*EXECUTION_TOOLS, ToolRegistered, ToolUpdated, ToolVersionDeprecated]
    )
    found: list[Envelope[Any]] = []
    consumer = AIOKafkaConsumer(
        CATALOG_TOOLS_V1,
        bootstrap_servers=service.kafka,
        group_id=None,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:

        async def arrived() -> bool:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for r in records:
                    if r.key == str(tool_id).encode():
                        found.append(adapter.validate_json(r.value))
            return len(found) >= count

        await eventually(arrived, within=60)
    finally:
        await consumer.stop()
    return found
