"""Drafting through the real stack: `discovery.session.completed` on the broker, planning's
request on `llm.requests.v1`, the REAL llm-gateway answering from its `local` provider's
script on `llm.responses.planning.v1`, the answer made a plan (or the draft failed with
its reason). Each session's goal carries a marker its script entry matches, so no two
tests' answers can collide."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from agentsuite_contracts.topic_names import DISCOVERY_SESSIONS_V1
from tests.integration.kafka_helpers import eventually
from tests.integration.llm_gateway import setup
from tests.integration.llm_gateway.harness import Gateway
from tests.integration.planning.drafting_support import (
    MODEL,
    PRICE,
    SETTLE,
    completed,
    draft_of,
    drafted_events,
    plan,
    scripted,
    tool,
    version_one,
)
from tests.integration.planning.harness import SIGNER, Service, send

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


async def test_an_answered_draft_is_a_plan_citing_the_findings(
    service: Service, gw: Gateway
) -> None:
    tenant, user, session, marker = uuid4(), uuid4(), uuid4(), f"[d-{uuid4().hex[:8]}]"
    await scripted(gw, tenant, [{"match": marker, "json": plan(tool("a"), tool("b", ["a"]))}])
    await send(service.kafka, DISCOVERY_SESSIONS_V1, [completed(tenant, user, session, marker)])
    draft = await draft_of(service, tenant, session)
    assert draft["state"] == "drafted", draft
    assert draft["via"] == "llm"
    assert draft["plan_id"] is not None
    [event] = await drafted_events(service, tenant)
    snapshot = event["payload"]["plan"]
    assert snapshot["plan_id"] == draft["plan_id"]
    assert snapshot["version"] == 1
    assert event["payload"]["source"] == {"kind": "discovery", "id": str(session)}
    assert [r["key"] for r in snapshot["requirements"]] == ["channel"]
    stored = await version_one(service, tenant, draft["plan_id"])
    assert stored["author"] == str(user)
    assert stored["plan"]["requirements"][0]["session_id"] == str(session)
    assert stored["validation"] is not None  # validated as it was drafted


async def test_a_plan_with_a_cycle_is_drafted_for_validation_to_report(
    service: Service, gw: Gateway
) -> None:
    tenant, session, marker = uuid4(), uuid4(), f"[c-{uuid4().hex[:8]}]"
    answer = plan(tool("a", ["b"]), tool("b", ["a"]), tool("b"))  # a cycle, a duplicate key
    await scripted(gw, tenant, [{"match": marker, "json": answer}])
    await send(service.kafka, DISCOVERY_SESSIONS_V1, [completed(tenant, uuid4(), session, marker)])
    draft = await draft_of(service, tenant, session)
    assert draft["state"] == "drafted", draft
    assert any("duplicate key" in r for r in draft["repairs"]), draft
    [event] = await drafted_events(service, tenant)
    steps = event["payload"]["plan"]["phases"][0]["steps"]
    assert [(s["key"], s["depends_on"]) for s in steps] == [("a", ["b"]), ("b", ["a"]), ("b-2", [])]
    validation = (await version_one(service, tenant, draft["plan_id"]))["validation"]
    assert validation["valid"] is False
    assert "cycle" in {i["code"] for i in validation["issues"]}, validation


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("this is no plan, sorry", "invalid_answer: not JSON"),
        ('{"verdict": "fine"}', "invalid_answer: no 'phases' list"),
        ('{"phases": [{"steps": [{"kind": "tool"}]}]}', "invalid_answer: no usable step"),
    ],
)
async def test_an_unusable_answer_fails_the_draft_with_its_reason(
    service: Service, gw: Gateway, reply: str, reason: str
) -> None:
    tenant, session, marker = uuid4(), uuid4(), f"[g-{uuid4().hex[:8]}]"
    await scripted(gw, tenant, [{"match": marker, "reply": reply}])
    await send(service.kafka, DISCOVERY_SESSIONS_V1, [completed(tenant, uuid4(), session, marker)])
    draft = await draft_of(service, tenant, session)
    assert draft["state"] == "failed", draft
    assert draft["error"].startswith(reason), draft
    assert draft["plan_id"] is None
    assert await drafted_events(service, tenant) == []
    kept = await service.owner_sql(
        "SELECT requirements FROM drafts WHERE id = :id", id=UUID(draft["id"])
    )
    assert kept[0][0] is None  # nothing of the session stays behind a failed draft


async def test_a_redelivered_completion_drafts_once(service: Service, gw: Gateway) -> None:
    tenant, user, session, marker = uuid4(), uuid4(), uuid4(), f"[r-{uuid4().hex[:8]}]"
    await scripted(gw, tenant, [{"match": marker, "json": plan(tool("a"))}])
    first = completed(tenant, user, session, marker)
    again = first.model_copy(update={"id": uuid4()})  # the fact re-sent in a new envelope
    await send(service.kafka, DISCOVERY_SESSIONS_V1, [first, first, again, first])
    draft = await draft_of(service, tenant, session)
    assert draft["state"] == "drafted", draft

    async def all_taken() -> bool:
        rows = await service.owner_sql(
            "SELECT count(*) FROM inbox WHERE consumer = 'planning.discovery-sessions' "
            "AND event_id = ANY(:ids)",
            ids=[first.id, again.id],
        )
        return bool(rows[0][0] == 2)

    await eventually(all_taken, within=SETTLE)
    rows = await service.owner_sql("SELECT count(*) FROM drafts WHERE session_id = :s", s=session)
    assert rows[0][0] == 1
    calls = await service.owner_sql("SELECT count(*) FROM llm_calls WHERE tenant_id = :t", t=tenant)
    assert calls[0][0] == 1
    assert len(await drafted_events(service, tenant)) == 1


async def test_a_gateway_error_fails_the_draft_with_its_code(service: Service, gw: Gateway) -> None:
    tenant, session = uuid4(), uuid4()
    pid = await setup.provider(gw, tenant, "failing", None, kind="local", options={"status": 400})
    await setup.model(gw, tenant, pid, MODEL, upstream="fail", price=PRICE)
    await send(service.kafka, DISCOVERY_SESSIONS_V1, [completed(tenant, uuid4(), session, "x")])
    draft = await draft_of(service, tenant, session)
    assert draft["state"] == "failed", draft
    code, _, message = draft["error"].partition(": ")
    assert code
    assert message
    assert await drafted_events(service, tenant) == []


async def test_drafts_routes_refuse_what_they_cannot_answer(service: Service) -> None:
    tenant = uuid4()
    reader = SIGNER.auth(tenant, ["plans:read"], subject=uuid4())
    writer = SIGNER.auth(tenant, ["plans:write"], subject=uuid4())
    client = service.client
    missing = await client.get(f"/v1/drafts/{uuid4()}", headers=reader)
    assert missing.status_code == 404, missing.text
    assert missing.json()["code"] == "draft_not_found"
    bad = await client.get("/v1/drafts", params={"cursor": "nope"}, headers=reader)
    assert bad.status_code == 400, bad.text
    denied = await client.get("/v1/drafts", headers=writer)
    assert denied.status_code == 403, denied.text
    body = {"template": "no-such-template", "parameters": {}}
    r = await client.post("/v1/plans/from-template", json=body, headers=writer)
    assert r.status_code == 404, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "template_not_found"
    extra = await client.post(
        "/v1/plans/from-template", json={**body, "surprise": 1}, headers=writer
    )
    assert extra.status_code == 422, extra.text
