"""The task catalog through the real app: the group DAG (a cycle is a 422), tasks in a
group and below it, revisions under If-Match, the history, the events."""

from __future__ import annotations

import importlib
from typing import Any
from uuid import UUID, uuid4

from aiokafka import AIOKafkaConsumer

from agentsuite_contracts.catalog import TaskCreated, TaskDeprecated, TaskUpdated
from agentsuite_contracts.envelope import Envelope
from agentsuite_contracts.topic_names import CATALOG_TASKS_V1
from agentsuite_kit.messaging.consumer import handled_adapter
from tests.integration.catalog.harness import Service, auth
from tests.integration.kafka_helpers import eventually


async def group(service: Service, tenant: UUID, key: str, *parents: str) -> dict[str, Any]:
    body = {"key": key, "name": key.upper(), "parents": list(parents)}
    made = await service.client.post("/v1/task-groups", json=body, headers=auth(tenant))
    assert made.status_code == 201, made.text
    assert made.headers["etag"] == '"1"'
    view: dict[str, Any] = made.json()
    return view


async def task(service: Service, tenant: UUID, key: str, *groups: str) -> dict[str, Any]:
    body = {"key": key, "name": key, "description": f"do {key}", "groups": list(groups)}
    made = await service.client.post("/v1/tasks", json=body, headers=auth(tenant))
    assert made.status_code == 201, made.text
    view: dict[str, Any] = made.json()
    return view


async def test_a_group_edit_that_closes_a_cycle_is_a_422(service: Service) -> None:
    tenant = uuid4()
    a = await group(service, tenant, "a")
    await group(service, tenant, "b", "a")
    await group(service, tenant, "c", "b")
    url = f"/v1/task-groups/{a['id']}"
    headers = auth(tenant) | {"If-Match": '"1"'}
    cyclic = await service.client.put(url, json={"name": "A", "parents": ["c"]}, headers=headers)
    assert cyclic.status_code == 422, cyclic.text
    assert (cyclic.json()["code"], cyclic.json()["field"]) == ("group_cycle", "parents")
    itself = await service.client.put(url, json={"name": "A", "parents": ["a"]}, headers=headers)
    assert itself.json()["code"] == "group_cycle"
    unknown = await service.client.put(url, json={"name": "A", "parents": ["zz"]}, headers=headers)
    assert (unknown.json()["code"], unknown.json()["field"]) == ("group_unknown", "parents[0]")
    rows = await service.owner_sql(
        "SELECT count(*) FROM task_group_edges WHERE child_id = :a", a=UUID(a["id"])
    )
    assert rows[0][0] == 0
    # a diamond is no cycle: d under both b and c
    d = await group(service, tenant, "d", "b", "c")
    assert d["parents"] == ["b", "c"]
    missing = await service.client.put(url, json={"name": "A"}, headers=auth(tenant))
    assert missing.status_code == 428
    stale = auth(tenant) | {"If-Match": '"7"'}
    assert (await service.client.put(url, json={"name": "A"}, headers=stale)).status_code == 412


async def test_tasks_are_listed_by_group_and_below(service: Service) -> None:
    tenant = uuid4()
    top = await group(service, tenant, "top")
    await group(service, tenant, "mid", "top")
    await group(service, tenant, "leaf", "mid")
    other = await group(service, tenant, "other")
    for key, in_group in (("t1", "top"), ("t2", "leaf"), ("t3", "other")):
        await task(service, tenant, key, in_group)
    under = await service.client.get(f"/v1/tasks?group={top['id']}", headers=auth(tenant))
    assert [t["key"] for t in under.json()["items"]] == ["t1", "t2"]
    elsewhere = await service.client.get(f"/v1/tasks?group={other['id']}", headers=auth(tenant))
    assert [t["key"] for t in elsewhere.json()["items"]] == ["t3"]
    bad = await service.client.post(
        "/v1/tasks",
        json={"key": "t4", "name": "n", "description": "d", "groups": ["nope"]},
        headers=auth(tenant),
    )
    assert (bad.status_code, bad.json()["field"]) == (422, "groups[0]")


async def task_events(service: Service, task_id: str, count: int) -> list[Envelope[Any]]:
    adapter = handled_adapter([TaskCreated, TaskUpdated, TaskDeprecated])
    found: list[Envelope[Any]] = []
    consumer = AIOKafkaConsumer(
        CATALOG_TASKS_V1,
        bootstrap_servers=service.kafka,
        group_id=None,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:

        async def arrived() -> bool:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                found.extend(
                    adapter.validate_json(r.value) for r in records if r.key == task_id.encode()
                )
            return len(found) >= count

        await eventually(arrived, within=60)
    finally:
        await consumer.stop()
    return found


async def test_every_task_change_is_in_its_history_and_on_the_topic(service: Service) -> None:
    tenant = uuid4()
    await group(service, tenant, "research")
    made = await task(service, tenant, "research.competitors", "research")
    url = f"/v1/tasks/{made['id']}"
    body = {"name": "Competitors", "description": "find them all", "note": "wider"}
    edited = await service.client.put(url, json=body, headers=auth(tenant) | {"If-Match": '"1"'})
    assert (edited.status_code, edited.json()["version"]) == (200, 2), edited.text
    assert edited.json()["spec"]["groups"] == []
    assert (await service.client.post(f"{url}/publish", headers=auth(tenant))).status_code == 200
    gone = await service.client.post(f"{url}/deprecate", json={"reason": "x"}, headers=auth(tenant))
    assert (gone.status_code, gone.json()["status"]) == (200, "deprecated")
    history = await service.client.get(f"{url}/history?limit=2", headers=auth(tenant))
    first = history.json()
    rest = await service.client.get(
        f"{url}/history?cursor={first['next_cursor']}", headers=auth(tenant)
    )
    entries = first["items"] + rest.json()["items"]
    assert [(e["revision"], e["status"], e["note"]) for e in entries] == [
        (1, "draft", "created"),
        (2, "draft", "wider"),
        (3, "published", "published"),
        (4, "deprecated", "x"),
    ]
    events = await task_events(service, made["id"], 4)
    assert [type(e.payload) for e in events] == [
        TaskCreated,
        TaskUpdated,
        TaskUpdated,
        TaskDeprecated,
    ]
    assert events[2].payload.spec.model_dump(mode="json") == entries[2]["spec"]
    # the deprecation's revision (4) goes out whole, as every other change does
    assert events[3].payload.spec is not None
    assert events[3].payload.spec.model_dump(mode="json") == entries[3]["spec"]


async def test_tasks_and_groups_keep_bounded_metadata_in_history_and_events(
    service: Service,
) -> None:
    tenant = uuid4()
    meta = {"owner": "sales", "sla": {"hours": 4}, "labels": ["crm", 2, None, True]}
    body = {"key": "meta", "name": "Meta", "metadata": meta}
    made = await service.client.post("/v1/task-groups", json=body, headers=auth(tenant))
    assert (made.status_code, made.json().get("metadata")) == (201, meta), made.text
    url = f"/v1/task-groups/{made.json()['id']}"
    moved = await service.client.put(
        url,
        json={"name": "Meta", "metadata": {"owner": "ops"}},
        headers=auth(tenant) | {"If-Match": '"1"'},
    )
    assert (moved.status_code, moved.json()["metadata"]) == (200, {"owner": "ops"}), moved.text
    assert (await service.client.get(url, headers=auth(tenant))).json()["metadata"] == {
        "owner": "ops"
    }

    body = {"key": "meta.t", "name": "T", "description": "d", "groups": ["meta"], "metadata": meta}
    task_made = await service.client.post("/v1/tasks", json=body, headers=auth(tenant))
    assert task_made.status_code == 201, task_made.text
    assert task_made.json()["spec"]["metadata"] == meta
    task_url = f"/v1/tasks/{task_made.json()['id']}"
    edited = await service.client.put(
        task_url,
        json={"name": "T", "description": "d", "metadata": {"owner": "ops"}},
        headers=auth(tenant) | {"If-Match": '"1"'},
    )
    assert edited.status_code == 200, edited.text
    history = await service.client.get(f"{task_url}/history", headers=auth(tenant))
    assert [e["spec"]["metadata"] for e in history.json()["items"]] == [meta, {"owner": "ops"}]
    events = await task_events(service, task_made.json()["id"], 2)
    assert [e.payload.spec.metadata for e in events] == [meta, {"owner": "ops"}]

    deep: dict[str, Any] = {}
    inner = deep
    for _ in range(20):
        inner["x"] = {}
        inner = inner["x"]
    for bad, code in (
        (deep, "metadata_too_deep"),
        ({"x": "a" * 20_000}, "metadata_too_large"),
    ):
        for where, json_body in (
            ("/v1/task-groups", {"key": "bad", "name": "B", "metadata": bad}),
            ("/v1/tasks", {"key": "bad", "name": "B", "description": "d", "metadata": bad}),
        ):
            refused = await service.client.post(where, json=json_body, headers=auth(tenant))
            assert (refused.status_code, refused.json().get("code"), refused.json()["field"]) == (
                422,
                code,
                "metadata",
            ), refused.text
    for bad_value in ([1], "text", {"k": "\u0000"}):
        refused = await service.client.post(
            "/v1/task-groups",
            json={"key": "bad", "name": "B", "metadata": bad_value},
            headers=auth(tenant),
        )
        assert refused.status_code == 422, refused.text


async def test_every_group_change_is_in_its_history(service: Service) -> None:
    tenant = uuid4()
    await group(service, tenant, "top")
    made = await group(service, tenant, "mid", "top")
    url = f"/v1/task-groups/{made['id']}"
    renamed = await service.client.put(
        url,
        json={"name": "Middle", "parents": ["top"], "metadata": {"owner": "ops"}},
        headers=auth(tenant) | {"If-Match": '"1"'},
    )
    assert renamed.status_code == 200, renamed.text
    moved = await service.client.put(
        url, json={"name": "Middle"}, headers=auth(tenant) | {"If-Match": '"2"'}
    )
    assert (moved.status_code, moved.json()["parents"]) == (200, []), moved.text
    first = await service.client.get(f"{url}/history?limit=2", headers=auth(tenant))
    assert first.status_code == 200, first.text
    rest = await service.client.get(
        f"{url}/history?cursor={first.json()['next_cursor']}", headers=auth(tenant)
    )
    entries = first.json()["items"] + rest.json()["items"]
    assert [(e["revision"], e["name"], e["parents"], e["metadata"]) for e in entries] == [
        (1, "MID", ["top"], {}),
        (2, "Middle", ["top"], {"owner": "ops"}),
        (3, "Middle", [], {}),
    ]
    other = await service.client.get(f"{url}/history", headers=auth(uuid4()))
    assert other.status_code == 404, other.text


async def test_the_group_history_backfill_starts_each_group_at_its_current_version(
    service: Service,
) -> None:
    tenant = uuid4()
    await group(service, tenant, "b2")
    await group(service, tenant, "a1")
    made = await group(service, tenant, "kid", "b2", "a1")
    moved = await service.client.put(
        f"/v1/task-groups/{made['id']}",
        json={"name": "Kid", "parents": ["b2", "a1"], "metadata": {"k": [1]}},
        headers=auth(tenant) | {"If-Match": '"1"'},
    )
    assert moved.status_code == 200, moved.text
    # as before migration 0008: the tenant's groups have no history
    await service.owner_sql("DELETE FROM task_group_history WHERE tenant_id = :t", t=tenant)
    fill = importlib.import_module("agentsuite_catalog.migrations.versions.0008_task_group_history")
    await service.owner_sql(fill.BACKFILL)
    history = await service.client.get(
        f"/v1/task-groups/{made['id']}/history", headers=auth(tenant)
    )
    assert [
        (e["revision"], e["name"], e["parents"], e["metadata"]) for e in history.json()["items"]
    ] == [(2, "Kid", ["a1", "b2"], {"k": [1]})]
