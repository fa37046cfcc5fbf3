"""A run end to end through the real services (issue 18): a discovery session's turns
answered by the REAL llm-gateway (its `local` provider playing a script) complete it ->
planning drafts a plan through the same gateway (the script answers the plan JSON: an llm
step and a tool step of a tool published through the real catalog) -> a user edits it (a
new version with a reason; the diff names the change) -> validates -> approves
(`plans:approve`) -> execution, consuming `planning.plan.approved`, runs the pinned
version through its API to completion. Then the session is reopened and a turn
contradicts a requirement the plan cites -> the plan goes stale in planning and in
execution, which refuses a new run (409 `plan_stale`) -> re-approval -> a run again, and
one more from a one-time schedule of the pinned version.

Every wait is on a condition with a generous deadline; nothing is timed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from tests.integration.catalog import harness as catalog_harness
from tests.integration.discovery import harness as discovery_harness
from tests.integration.discovery.loop_support import extraction, said, say
from tests.integration.execution import harness as execution_harness
from tests.integration.llm_gateway import setup
from tests.integration.planning import harness as planning_harness
from tests.integration.planning.golden_support import (
    Stack,
    merged,
    ok,
    run_view,
    runnable,
    stack,
    until,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

PRICE = ("1000", "1000")
TOOL = "notices.send"
OBJECTIVE: dict[str, Any] = {
    "title": "Outage notices",
    "description": "What an outage notice plan must know",
    "obligations": [
        {
            "key": "goal",
            "title": "Goal",
            "description": "What the plan achieves",
            "kind": "goal",
            "confidence": 0.8,
        },
        {
            "key": "channel",
            "title": "Channel",
            "description": "How customers are reached",
            "kind": "input",
            "confidence": 0.8,
            "validator": {"type": "string", "enum": ["email", "sms"]},
            "depends_on": ["goal"],
            "questions": [{"key": "channel", "text": "Email or SMS?", "when": None}],
        },
    ],
}


@pytest.fixture(scope="module")
async def services(
    pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    async with stack(pg_admin_url, tmp_path_factory.mktemp("golden")) as started:
        yield started


def drafted_plan(tag: str) -> dict[str, Any]:
    """What the scripted model answers planning: compose a notice (llm), send it through
    the catalog's tool (both serve the `channel` requirement), record it with a builtin."""
    return {
        "name": "Outage notices",
        "goal": "tell customers about outages",
        "phases": [
            {
                "key": "main",
                "name": "Main",
                "steps": [
                    {
                        "key": "compose",
                        "name": "Compose the notice",
                        "kind": "llm",
                        "llm": {"model": "worker", "prompt": f"[w-{tag}] write the notice"},
                        "serves": ["channel"],
                    },
                    {
                        "key": "send",
                        "name": "Send it",
                        "kind": "tool",
                        "tool": {
                            "tool": TOOL,
                            "input": {"channel": "email", "text": "${steps.compose.output}"},
                        },
                        "depends_on": ["compose"],
                        "serves": ["channel"],
                    },
                    {
                        # execution's builtin: no catalog entry, nothing to pin
                        "key": "record",
                        "name": "Record what went out",
                        "kind": "tool",
                        "tool": {
                            "tool": "builtin.echo",
                            "input": {"sent": "${steps.send.output.subject}"},
                        },
                        "depends_on": ["send"],
                    },
                ],
            }
        ],
    }


async def scripted_gateway(services: Stack, tenant: UUID, tag: str) -> None:
    """One local provider for the tenant, playing every model the story asks for:
    discovery's turns, planning's draft, the plan's llm step."""
    script = [
        said(
            f"[t1-{tag}]",
            extraction("goal", f"[p-{tag}] tell customers about outages"),
            extraction("channel", "email"),
        ),
        # after the reopen: a different value, not said to revise -> a contradiction
        said(f"[t2-{tag}]", extraction("channel", "sms")),
        {"match": f"[p-{tag}]", "json": drafted_plan(tag)},
        {"match": f"[w-{tag}]", "reply": "Service is down tonight from 22:00."},
    ]
    gw = services.gateway
    options = {"script": script}
    pid = await setup.provider(gw, tenant, "scripted", None, kind="local", options=options)
    for model in ("discovery", "planning", "worker"):
        await setup.model(gw, tenant, pid, model, upstream="script", price=PRICE)


async def publish_tool(services: Stack, tenant: UUID) -> None:
    """The tool the plan sends with, published through catalog (bound to execution's
    builtin echo, so the run's output shows what the step was given)."""
    auth = catalog_harness.auth(tenant)
    body = {
        "name": TOOL,
        "version": "1.0.0",
        "description": "send a notice to customers",
        "category": "messaging",
        "tags": ["notify"],
        "input_schema": {
            "type": "object",
            "properties": {
                "channel": {"type": "string"},
                "text": {},
                "subject": {"type": "string"},
            },
            "required": ["channel"],
        },
        "output_schema": {"type": "object"},
        "binding": {"kind": "builtin", "name": "echo"},
        "side_effect": "idempotent",
    }
    made = await ok(services.catalog.client.post("/v1/tools", json=body, headers=auth), 201)
    await ok(
        services.catalog.client.post(
            f"/v1/tools/{made['tool_id']}/versions/1.0.0/publish", headers=auth
        )
    )


async def start(
    services: Stack, auth: dict[str, str], plan_id: UUID, status: int = 201
) -> dict[str, Any]:
    return await ok(
        services.execution.client.post(
            "/v1/executions", json={"plan_id": str(plan_id), "inputs": {}}, headers=auth
        ),
        status,
    )


@dataclass
class Story:
    """One tenant's user, signed to each service with the same subject."""

    services: Stack
    tenant: UUID = field(default_factory=uuid4)
    user: UUID = field(default_factory=uuid4)
    tag: str = field(default_factory=lambda: uuid4().hex[:8])

    @property
    def disc(self) -> dict[str, str]:
        return discovery_harness.auth(self.tenant, None, subject=self.user)

    @property
    def plans(self) -> dict[str, str]:
        return planning_harness.auth(self.tenant, None, subject=self.user)

    @property
    def runs(self) -> dict[str, str]:
        return execution_harness.auth(self.tenant, None, subject=self.user)


async def discover(story: Story) -> tuple[str, dict[str, Any]]:
    """One turn fills both obligations and completes the session: its id and the cited
    `channel` finding."""
    client, tag = story.services.discovery.client, story.tag
    body = {"key": f"notices_{tag}", **OBJECTIVE}
    await ok(client.post("/v1/objectives", json=body, headers=story.disc), 201)
    body = {"objective": f"notices_{tag}", "title": "outages"}
    sid = str((await ok(client.post("/v1/sessions", json=body, headers=story.disc), 201))["id"])
    view = await say(client, story.disc, sid, f"[t1-{tag}] email them all")
    assert view["status"] == "completed", view
    [cited] = [f for f in view["requirements"]["findings"] if f["obligation"] == "channel"]
    return sid, cited


async def drafted(story: Story, sid: str, cited: dict[str, Any]) -> tuple[UUID, dict[str, Any]]:
    """planning's draft of the completed session (through the gateway): plan id, version 1."""
    client = story.services.planning.client
    draft: dict[str, Any] = {}

    async def settled() -> bool:
        params = {"session_id": sid}
        page = await ok(client.get("/v1/drafts", params=params, headers=story.plans))
        draft.update(page["items"][0] if page["items"] else {})
        return draft.get("state") not in (None, "pending")

    await until("the session's draft", settled)
    assert draft["state"] == "drafted", draft
    plan_id = UUID(draft["plan_id"])
    v1 = await ok(client.get(f"/v1/plans/{plan_id}/versions/1", headers=story.plans))
    assert [s["key"] for s in v1["plan"]["phases"][0]["steps"]] == ["compose", "send", "record"]
    [requirement] = [r for r in v1["plan"]["requirements"] if r["key"] == "channel"]
    assert (requirement["session_id"], requirement["extraction_id"]) == (
        sid,
        cited["extraction_id"],
    )
    return plan_id, v1


async def edit(story: Story, plan_id: UUID, v1: dict[str, Any]) -> None:
    """The user's edit: version 2 with a reason, the diff naming the changed step."""
    client, plans = story.services.planning.client, story.plans
    plan = await client.get(f"/v1/plans/{plan_id}", headers=plans)
    fields = ("name", "goal", "inputs_schema", "phases", "requirements")
    body = {key: v1["plan"][key] for key in fields}
    body["phases"][0]["steps"][1]["tool"]["input"]["subject"] = "Outage tonight"
    edited = await ok(
        client.put(
            f"/v1/plans/{plan_id}",
            json={**body, "reason": "a subject line for the mail"},
            headers=merged(plans, {"If-Match": plan.headers["etag"]}),
        )
    )
    assert edited["head"] == 2
    log = await ok(client.get(f"/v1/plans/{plan_id}/versions", headers=plans))
    entries = [(e["version"], e["author"], e["reason"]) for e in log["items"]]
    assert entries[0] == (2, str(story.user), "a subject line for the mail")
    assert [e[0] for e in entries] == [2, 1]
    params = {"from": 1, "to": 2}
    diff = await ok(client.get(f"/v1/plans/{plan_id}/diff", params=params, headers=plans))
    assert [(c["op"], c["step"]) for c in diff["changes"]] == [("changed", "send")], diff


async def validate_and_approve(story: Story, plan_id: UUID) -> None:
    """Version 2 validated (once planning's feed knows the catalog's tool), approved, the
    floating tool pinned to its published version."""
    client, plans = story.services.planning.client, story.plans
    url = f"/v1/plans/{plan_id}/versions/2"

    checked: dict[str, Any] = {}
    sent_with = "phases[0].steps[1].tool.tool"  # the catalog's tool, known once projected

    async def projected() -> bool:
        checked.update(await ok(client.post(f"{url}/validate", headers=plans)))
        return all(i["path"] != sent_with for i in checked["issues"])

    await until("the catalog's tool in planning's projection", projected)
    assert (checked["valid"], checked["issues"]) == (True, []), checked
    body = {"comment": "ship it"}
    approved = await ok(client.post(f"{url}/approve", json=body, headers=plans))
    assert approved["version"]["approved_by"] == str(story.user)
    pinned_send = approved["version"]["pinned"]["phases"][0]["steps"][1]
    assert pinned_send["tool"]["version"] == "1.0.0"
    assert approved["version"]["pinned"]["phases"][0]["steps"][2]["tool"]["version"] is None


async def run_to_the_end(story: Story, plan_id: UUID) -> dict[str, Any]:
    """A run of the plan's approved version through execution's API, once it has ended."""
    await runnable(story.services, story.tenant, plan_id, 2, stale=False)
    started = await start(story.services, story.runs, plan_id)
    return await run_view(story.services, story.runs, started["execution_id"])


async def contradict(story: Story, sid: str) -> None:
    """The session reopens and a turn contradicts the channel the plan cites."""
    client = story.services.discovery.client
    body = {"reason": "SMS after all?"}
    await ok(client.post(f"/v1/sessions/{sid}/reopen", json=body, headers=story.disc))
    view = await say(client, story.disc, sid, f"[t2-{story.tag}] by SMS instead")
    channel = next(o for o in view["obligations"] if o["key"] == "channel")
    assert channel["status"] == "contested", view


async def scheduled_run(story: Story, plan_id: UUID) -> dict[str, Any]:
    """A one-time schedule of version 2 (planning's durable job fires its slot on
    `planning.schedules.v1`, execution starts the run): the run, once it has ended."""
    at = (datetime.now(UTC) + timedelta(seconds=5)).isoformat()
    body = {"plan_id": str(plan_id), "plan_version": 2, "at": at}
    client = story.services.planning.client
    made = await ok(client.post("/v1/schedules", json=body, headers=story.plans), 201)
    found: dict[str, Any] = {}

    async def started() -> bool:
        page = await ok(story.services.execution.client.get("/v1/executions", headers=story.runs))
        found.update(next((r for r in page["items"] if r["schedule_id"] == made["id"]), {}))
        return bool(found)

    await until("the schedule's run in execution", started)
    return await run_view(story.services, story.runs, found["execution_id"])


async def test_discovery_to_a_completed_run_then_drift_and_reapproval(services: Stack) -> None:
    story = Story(services)
    await scripted_gateway(services, story.tenant, story.tag)
    await publish_tool(services, story.tenant)
    sid, cited = await discover(story)
    plan_id, v1 = await drafted(story, sid, cited)
    await edit(story, plan_id, v1)
    await validate_and_approve(story, plan_id)

    run = await run_to_the_end(story, plan_id)
    assert run["status"] == "completed", run
    assert (run["plan_id"], run["plan_version"]) == (str(plan_id), 2)
    url = f"/v1/executions/{run['execution_id']}/steps"
    steps = await ok(services.execution.client.get(url, headers=story.runs))
    by_key = {s["key"]: s for s in steps["items"]}
    assert {k: s["state"] for k, s in by_key.items()} == {
        "compose": "succeeded",
        "send": "succeeded",
        "record": "succeeded",
    }
    # version 2's edit ran, with the llm step's answer bound into the tool's input
    assert by_key["send"]["output"]["subject"] == "Outage tonight"
    assert "Service is down tonight" in str(by_key["send"]["output"]["text"])
    assert by_key["record"]["output"] == {"sent": "Outage tonight"}

    await contradict(story, sid)

    async def stale_in_planning() -> bool:
        plan = await ok(services.planning.client.get(f"/v1/plans/{plan_id}", headers=story.plans))
        return bool(plan["stale"])

    await until("plan stale in planning", stale_in_planning)
    await runnable(services, story.tenant, plan_id, 2, stale=True)
    refused = await start(services, story.runs, plan_id, 409)
    assert refused["code"] == "plan_stale", refused

    # re-approval clears the drift: a run starts and completes again on version 2
    url = f"/v1/plans/{plan_id}/versions/2/approve"
    body = {"comment": "SMS is a later change"}
    again = await ok(services.planning.client.post(url, json=body, headers=story.plans))
    assert again["plan"]["stale"] is False
    rerun = await run_to_the_end(story, plan_id)
    assert (rerun["status"], rerun["plan_version"]) == ("completed", 2), rerun
    assert rerun["execution_id"] != run["execution_id"]

    # and once more from a one-time schedule of the pinned version
    scheduled = await scheduled_run(story, plan_id)
    assert (scheduled["status"], scheduled["plan_version"], scheduled["trigger"]) == (
        "completed",
        2,
        "schedule",
    ), scheduled
