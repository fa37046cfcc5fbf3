"""Templates through the real app: revisions under If-Match, published ones immutable,
the events planning consumes."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from aiokafka import AIOKafkaConsumer

from agentsuite_contracts.catalog import (
    TemplateCreated,
    TemplateDeprecated,
    TemplatePublished,
    TemplateUpdated,
)
from agentsuite_contracts.envelope import Envelope
from agentsuite_contracts.topic_names import CATALOG_TEMPLATES_V1
from agentsuite_kit.messaging.consumer import handled_adapter
from tests.integration.catalog.harness import Service, auth
from tests.integration.kafka_helpers import eventually

PHASES = [
    {
        "key": "find",
        "name": "Find leads",
        "steps": [
            {"key": "search", "name": "search", "kind": "tool", "tool": {"tool": "web.search"}}
        ],
    }
]


async def template(service: Service, tenant: UUID, key: str) -> dict[str, Any]:
    body = {
        "key": key,
        "name": "Leads",
        "kind": "sales",
        "tags": ["crm"],
        "parameters_schema": {"type": "object", "properties": {"region": {"type": "string"}}},
        "phases": PHASES,
    }
    made = await service.client.post("/v1/templates", json=body, headers=auth(tenant))
    assert made.status_code == 201, made.text
    view: dict[str, Any] = made.json()
    return view


async def test_a_published_revision_never_changes(service: Service) -> None:
    tenant = uuid4()
    made = await template(service, tenant, "leads")
    url = f"/v1/templates/{made['id']}"
    done = await service.client.post(f"{url}/publish", headers=auth(tenant))
    assert (done.status_code, done.json()["status"]) == (200, "published"), done.text
    changed = {"name": "Leads v2", "phases": [*PHASES, {**PHASES[0], "key": "more"}]}
    revised = await service.client.put(
        url, json=changed, headers=auth(tenant) | {"If-Match": '"1"'}
    )
    assert (revised.status_code, revised.json()["version"]) == (200, 2), revised.text
    assert revised.json()["status"] == "draft"
    first = await service.client.get(f"{url}/revisions/1", headers=auth(tenant))
    assert first.json()["status"] == "published"
    assert first.json()["spec"] == made["spec"]
    stale = await service.client.put(url, json=changed, headers=auth(tenant) | {"If-Match": '"1"'})
    assert stale.status_code == 412


async def test_a_step_without_its_kinds_block_is_a_422(service: Service) -> None:
    steps = [{"key": "x", "name": "x", "kind": "tool"}]
    body = {"key": "bad", "name": "Bad", "phases": [{**PHASES[0], "steps": steps}]}
    r = await service.client.post("/v1/templates", json=body, headers=auth(uuid4()))
    assert r.status_code == 422, r.text


async def template_events(service: Service, template_id: str, count: int) -> list[Envelope[Any]]:
    """The first `count` events of template `template_id`, decoded from the broker."""
    adapter = handled_adapter(
        [TemplateCreated, TemplateUpdated, TemplatePublished, TemplateDeprecated]
    )
    found: list[Envelope[Any]] = []
    consumer = AIOKafkaConsumer(
        CATALOG_TEMPLATES_V1,
        bootstrap_servers=service.kafka,
        group_id=None,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:

        async def arrived() -> bool:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                found.extend(
                    adapter.validate_json(r.value) for r in records if r.key == template_id.encode()
                )
            return len(found) >= count

        await eventually(arrived, within=60)
    finally:
        await consumer.stop()
    return found


async def test_every_template_event_carries_the_full_spec_and_status(service: Service) -> None:
    tenant = uuid4()
    made = await template(service, tenant, "leads")
    url = f"/v1/templates/{made['id']}"
    done = await service.client.post(f"{url}/publish", headers=auth(tenant))
    assert done.status_code == 200, done.text
    changed = {"name": "Leads v2", "phases": PHASES}
    revised = await service.client.put(
        url, json=changed, headers=auth(tenant) | {"If-Match": '"1"'}
    )
    assert revised.status_code == 200, revised.text
    gone = await service.client.post(f"{url}/deprecate", json={"reason": "x"}, headers=auth(tenant))
    assert gone.status_code == 200, gone.text

    events = [e.payload for e in await template_events(service, made["id"], 4)]
    assert [type(p) for p in events] == [
        TemplateCreated,
        TemplatePublished,
        TemplateUpdated,
        TemplateDeprecated,
    ]
    specs = [p.spec.model_dump(mode="json") if p.spec is not None else None for p in events]
    assert specs == [made["spec"], made["spec"], revised.json()["spec"], revised.json()["spec"]]
    assert isinstance(events[0], TemplateCreated)
    assert isinstance(events[2], TemplateUpdated)
    assert (events[0].status, events[2].status) == ("draft", "draft")
