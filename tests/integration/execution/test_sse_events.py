"""The run's log over Server-Sent Events: every event in order with its seq as `id:`, the
stream ends once the run is over and its log drained, Last-Event-ID and `?after=` resume
after a seq; the same rows as JSON pages; the stream's bookkeeping of late commits."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from uuid import uuid4

from agentsuite_execution.api.events import Tail
from tests.integration.execution.harness import Execution, auth
from tests.integration.execution.test_api import runnable, settled, started, tool
from tests.integration.execution.test_api_control import wait


def events(text: str) -> list[dict[str, Any]]:
    """The events of an SSE body (comments, such as pings, left out)."""
    found = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            name, sep, value = line.partition(":")
            if sep and name:
                fields[name] = value.removeprefix(" ")
        if "event" in fields:
            found.append(
                {
                    "id": int(fields["id"]),
                    "event": fields["event"],
                    "data": json.loads(fields["data"]),
                }
            )
    return found


async def test_the_stream_sends_the_run_in_order_and_ends(engine: Execution) -> None:
    tenant = uuid4()
    plan = await runnable(engine, tenant, [tool("a"), tool("b", "echo", ["a"], input={"v": 1})])
    run = await started(engine, tenant, plan.plan_id)
    url = f"/v1/executions/{run['execution_id']}/events"

    reply = await asyncio.wait_for(engine.client.get(url, headers=auth(tenant)), 30)
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/event-stream")
    sent = events(reply.text)
    types = [e["event"] for e in sent]
    assert types[0] == "execution.execution.started"
    assert types[-1] == "execution.execution.completed"
    assert types.index("execution.step.succeeded") < len(types) - 1
    ids = [e["id"] for e in sent]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    by_step = [(e["event"], e["data"]["key"]) for e in sent if e["data"]["key"]]
    assert by_step.index(("execution.step.succeeded", "a")) < by_step.index(
        ("execution.step.started", "b")
    )
    assert all(e["data"]["seq"] == e["id"] for e in sent)

    resumed = await engine.client.get(url, headers={**auth(tenant), "Last-Event-ID": str(ids[1])})
    assert [e["id"] for e in events(resumed.text)] == ids[2:]
    after = await engine.client.get(f"{url}?after={ids[-2]}", headers=auth(tenant))
    assert [e["id"] for e in events(after.text)] == ids[-1:]
    bad = await engine.client.get(url, headers={**auth(tenant), "Last-Event-ID": "x"})
    assert bad.status_code == 400


async def test_a_watcher_sees_what_happens_while_it_watches(engine: Execution) -> None:
    tenant = uuid4()
    plan = await runnable(engine, tenant, [wait(ms=60_000)])
    run = await started(engine, tenant, plan.plan_id)
    rid = run["execution_id"]
    watching = asyncio.create_task(
        engine.client.get(f"/v1/executions/{rid}/events", headers=auth(tenant))
    )
    await asyncio.sleep(0.5)
    assert not watching.done()  # the run is still going: the stream stays open
    paused = await engine.client.post(f"/v1/executions/{rid}/pause", headers=auth(tenant))
    assert paused.status_code == 200, paused.text
    cancelled = await engine.client.post(f"/v1/executions/{rid}/cancel", headers=auth(tenant))
    assert cancelled.status_code == 200, cancelled.text
    reply = await asyncio.wait_for(watching, 30)
    types = [e["event"] for e in events(reply.text)]
    assert types[0] == "execution.execution.started"
    assert types.index("execution.execution.paused") < types.index("execution.execution.cancelled")
    assert types[-1] == "execution.execution.cancelled"


async def test_logs_page_through_the_same_rows(engine: Execution) -> None:
    tenant = uuid4()
    plan = await runnable(engine, tenant, [tool(f"s{i}") for i in range(4)])
    run = await started(engine, tenant, plan.plan_id)
    rid = run["execution_id"]
    await settled(engine, tenant, rid)
    streamed = events(
        (await engine.client.get(f"/v1/executions/{rid}/events", headers=auth(tenant))).text
    )

    rows: list[dict[str, Any]] = []
    url = f"/v1/executions/{rid}/logs?limit=3"
    while url:
        reply = await engine.client.get(url, headers=auth(tenant))
        assert reply.status_code == 200, reply.text
        page = reply.json()
        assert len(page["items"]) <= 3
        rows += page["items"]
        url = (
            f"/v1/executions/{rid}/logs?limit=3&cursor={page['next_cursor']}"
            if page["next_cursor"]
            else ""
        )
    assert [(r["seq"], r["type"]) for r in rows] == [(e["id"], e["event"]) for e in streamed]
    one_step = await engine.client.get(f"/v1/executions/{rid}/logs?key=s2", headers=auth(tenant))
    assert {r["key"] for r in one_step.json()["items"]} == {"s2"}
    too_many = await engine.client.get(
        f"/v1/executions/{rid}/logs?limit=5000", headers=auth(tenant)
    )
    assert too_many.status_code == 422


def test_the_tail_resends_nothing_and_catches_a_late_commit() -> None:
    tail = Tail(after=None, settle=2.0)
    assert [r["seq"] for r in tail.take([{"seq": 5}, {"seq": 7}], now=0.0)] == [5, 7]
    # seq 6 commits after 7 was sent: read again from the floor, it is new, 5 and 7 are not
    assert tail.seen.keys() == {5, 7}
    assert [r["seq"] for r in tail.take([{"seq": 5}, {"seq": 6}, {"seq": 7}], now=1.0)] == [6]
    # once 7 is older than the settle time the floor rises past it, and the set empties
    assert tail.take([{"seq": 5}, {"seq": 6}, {"seq": 7}], now=2.5) == []
    assert tail.floor == 7
    assert tail.seen == {}
    assert [r["seq"] for r in tail.take([{"seq": 8}], now=3.0)] == [8]
    assert Tail(after=41).floor == 41  # Last-Event-ID: nothing at or below it is sent
