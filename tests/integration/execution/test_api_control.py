"""Commands over HTTP on the running engine: pause, resume, cancel, rerun move the run and
refuse (409) what its status does not allow, If-Match guards them (412); approval signals
complete the waiting step for an approver (by id or role) and are refused to others."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID, uuid4

from agentsuite_contracts.steps import ApprovalStep, PlanStep, StepKind, WaitStep
from tests.integration.execution.harness import Execution, auth
from tests.integration.execution.test_api import runnable, settled, started, tool


def wait(key: str = "wait", ms: int = 60_000) -> PlanStep:
    return PlanStep(key=key, name=key, kind=StepKind.WAIT, wait=WaitStep(duration_ms=ms))


def approval(key: str, approvers: list[str]) -> PlanStep:
    return PlanStep(
        key=key,
        name=key,
        kind=StepKind.APPROVAL,
        approval=ApprovalStep(prompt="ship it?", approvers=approvers),
    )


async def command(
    ex: Execution,
    tenant: UUID,
    run_id: str,
    what: str,
    body: dict[str, Any] | None = None,
    **headers: str,
) -> Any:
    return await ex.client.post(
        f"/v1/executions/{run_id}/{what}",
        json=body,
        headers={**auth(tenant), **headers},
    )


async def test_pause_resume_cancel_move_the_run_and_refuse_the_rest(engine: Execution) -> None:
    tenant = uuid4()
    plan = await runnable(engine, tenant, [wait()])
    run = await started(engine, tenant, plan.plan_id)
    rid = run["execution_id"]

    stale = await command(engine, tenant, rid, "pause", {}, **{"If-Match": '"999"'})
    assert stale.status_code == 412
    assert stale.json()["code"] == "precondition"
    weak = await command(engine, tenant, rid, "pause", {}, **{"If-Match": f'W/"{run["version"]}"'})
    assert weak.status_code == 412
    resumed_running = await command(engine, tenant, rid, "resume")
    assert resumed_running.status_code == 409
    assert resumed_running.json()["code"] == "conflict"

    current = (await engine.client.get(f"/v1/executions/{rid}", headers=auth(tenant))).headers
    paused = await command(
        engine,
        tenant,
        rid,
        "pause",
        {"reason": "lunch", "timers": "freeze"},
        **{"If-Match": current["etag"]},
    )
    assert paused.status_code == 200, paused.text
    assert paused.json()["status"] == "paused"
    assert paused.json()["pause_reason"] == "lunch"
    assert paused.json()["pause_timers"] == "freeze"
    assert paused.headers["etag"] == f'"{paused.json()["version"]}"'
    again = await command(engine, tenant, rid, "pause")
    assert again.status_code == 409
    bad_timers = await command(engine, tenant, rid, "pause", {"timers": "stop"})
    assert bad_timers.status_code == 422
    assert bad_timers.json()["errors"][0]["loc"] == ["body", "timers"]

    resumed = await command(engine, tenant, rid, "resume", **{"If-Match": paused.headers["etag"]})
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["status"] == "running"

    cancelled = await command(engine, tenant, rid, "cancel", {"reason": "enough"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] in ("cancelling", "cancelled")
    done = await settled(engine, tenant, rid)
    assert done["status"] == "cancelled"
    twice = await command(engine, tenant, rid, "cancel")
    assert twice.status_code == 409

    rerun = await command(engine, tenant, rid, "rerun", {})
    assert rerun.status_code == 200, rerun.text
    assert rerun.json()["status"] == "running"
    assert rerun.json()["generation"] == done["generation"] + 1
    await command(engine, tenant, rid, "cancel")
    await settled(engine, tenant, rid)


async def test_a_failed_run_reruns_and_an_unknown_from_step_is_422(engine: Execution) -> None:
    tenant = uuid4()
    # after `first`: two independent instant steps claimed in one batch run in the claim's
    # row order, and `boom` failing first cancelled `first` (then rerun, generation 2)
    failing = tool(
        "boom", "fail", ("first",), input={"code": "boom", "message": "no", "retryable": False}
    )
    plan = await runnable(engine, tenant, [tool("first"), failing])
    run = await started(engine, tenant, plan.plan_id)
    rid = run["execution_id"]
    done = await settled(engine, tenant, rid)
    assert done["status"] == "failed"
    assert done["failed_step"] == "boom"

    unknown = await command(engine, tenant, rid, "rerun", {"from_step": "nope"})
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["loc"] == ["body", "from_step"]
    pause_failed = await command(engine, tenant, rid, "pause")
    assert pause_failed.status_code == 409

    rerun = await command(engine, tenant, rid, "rerun", {"from_step": "boom"})
    assert rerun.status_code == 200, rerun.text
    again = await settled(engine, tenant, rid)
    assert again["status"] == "failed"
    assert again["generation"] == done["generation"] + 1
    steps = await engine.client.get(f"/v1/executions/{rid}/steps", headers=auth(tenant))
    by_key = {s["key"]: s for s in steps.json()["items"]}
    assert by_key["first"]["generation"] == 1  # what succeeded is kept
    assert by_key["boom"]["generation"] == 2


async def test_an_approver_signal_completes_the_step_with_its_data(engine: Execution) -> None:
    tenant, approver, outsider = uuid4(), uuid4(), uuid4()
    steps = [approval("gate", [str(approver)]), tool("after", "echo", ["gate"], input={"x": 1})]
    plan = await runnable(engine, tenant, steps)
    run = await started(engine, tenant, plan.plan_id)
    rid = run["execution_id"]
    approval_id = await pending_approval(engine, tenant, rid)

    def signal(decision: str = "approve", **extra: Any) -> dict[str, Any]:
        return {"type": "approval", "approval_id": approval_id, "decision": decision, **extra}

    not_them = await engine.client.post(
        f"/v1/executions/{rid}/signals", json=signal(), headers=auth(tenant, subject=outsider)
    )
    assert not_them.status_code == 403
    assert not_them.json()["code"] == "forbidden"
    service = await engine.client.post(
        f"/v1/executions/{rid}/signals",
        json=signal(),
        headers=auth(tenant, subject="svc-1", kind="service"),
    )
    assert service.status_code == 403
    unknown = await engine.client.post(
        f"/v1/executions/{rid}/signals",
        json={**signal(), "approval_id": str(uuid4())},
        headers=auth(tenant, subject=approver),
    )
    assert unknown.status_code == 404
    wrong_type = await engine.client.post(
        f"/v1/executions/{rid}/signals",
        json={**signal(), "type": "poke"},
        headers=auth(tenant, subject=approver),
    )
    assert wrong_type.status_code == 422
    reader = await engine.client.post(
        f"/v1/executions/{rid}/signals",
        json=signal(),
        headers=auth(tenant, ["executions:read"], subject=approver),
    )
    assert reader.status_code == 403

    decided = await engine.client.post(
        f"/v1/executions/{rid}/signals",
        json=signal(comment="fine", data={"ticket": "T-1"}),
        headers=auth(tenant, subject=approver),
    )
    assert decided.status_code == 200, decided.text
    done = await settled(engine, tenant, rid)
    assert done["status"] == "completed", done["error"]
    gate = (
        await engine.client.get(f"/v1/executions/{rid}/steps/gate", headers=auth(tenant))
    ).json()
    assert gate["output"]["data"] == {"ticket": "T-1"}
    assert gate["output"]["decided_by"] == str(approver)
    approvals = (
        await engine.client.get(f"/v1/executions/{rid}/approvals", headers=auth(tenant))
    ).json()
    assert [(a["state"], a["decided_by"], a["comment"]) for a in approvals] == [
        ("granted", str(approver), "fine")
    ]
    twice = await engine.client.post(
        f"/v1/executions/{rid}/signals", json=signal(), headers=auth(tenant, subject=approver)
    )
    assert twice.status_code == 409


async def test_a_role_holder_rejects_and_the_run_fails(engine: Execution) -> None:
    tenant = uuid4()
    plan = await runnable(
        engine,
        tenant,
        [approval("gate", ["role:lead"])],
    )
    run = await started(engine, tenant, plan.plan_id)
    rid = run["execution_id"]
    approval_id = await pending_approval(engine, tenant, rid)
    body = {"type": "approval", "approval_id": approval_id, "decision": "reject"}
    no_role = await engine.client.post(
        f"/v1/executions/{rid}/signals", json=body, headers=auth(tenant, roles=["dev"])
    )
    assert no_role.status_code == 403
    lead = await engine.client.post(
        f"/v1/executions/{rid}/signals",
        json={**body, "comment": "not now"},
        headers=auth(tenant, roles=["lead"]),
    )
    assert lead.status_code == 200, lead.text
    done = await settled(engine, tenant, rid)
    assert done["status"] == "failed"
    assert done["error"]["code"] == "approval_rejected"


async def pending_approval(ex: Execution, tenant: UUID, run_id: str) -> str:
    """The id of the run's approval request, once the engine has opened it."""
    for _ in range(600):
        reply = await ex.client.get(f"/v1/executions/{run_id}/approvals", headers=auth(tenant))
        assert reply.status_code == 200, reply.text
        pending = [a for a in reply.json() if a["state"] == "pending"]
        if pending:
            found: str = pending[0]["approval_id"]
            return found
        await asyncio.sleep(0.05)
    raise AssertionError("no approval was opened")
