"""Drafting under redelivery, through the real broker, the real planning and the REAL
llm-gateway (its `local` provider's script): several sessions' `session.completed`, each
delivered 1-5 times (the same envelope again, or the fact in a new envelope) in an order
shuffled across sessions; then the gateway's answers fed again, each 1-5 more times,
shuffled across requests. Each session ends with one draft, one request to the model, one
plan with one version, and one `planning.plan.drafted`."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any
from uuid import UUID, uuid4

import pytest

from agentsuite_contracts.topic_names import DISCOVERY_SESSIONS_V1, LLM_RESPONSES_PLANNING_V1
from tests.integration.kafka_helpers import eventually
from tests.integration.llm_gateway.harness import Gateway
from tests.integration.planning.drafting_support import (
    SETTLE,
    answers_to,
    completed,
    draft_of,
    drafted_events,
    plan,
    scripted,
    tool,
    version_one,
)
from tests.integration.planning.harness import Service, send
from tests.integration.planning.redelivery_support import caught_up, deliveries

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

SESSIONS = 5


async def taken(service: Service, group: str, topic: str) -> None:
    async def done() -> bool:
        return await caught_up(service.kafka, group, topic)

    await eventually(done, within=SETTLE, every=0.5)


async def per_session(service: Service, sql: str, tenant: UUID) -> Counter[str]:
    rows = await service.owner_sql(sql, t=tenant)
    return Counter({str(r[0]): int(r[1]) for r in rows})


@pytest.mark.parametrize("seed", [18, 2026])
async def test_redelivered_completions_and_answers_draft_each_session_once(
    service: Service, gw: Gateway, seed: int
) -> None:
    rng = random.Random(seed)  # noqa: S311 - reproducible delivery orders, not secrets
    tenant, user = uuid4(), uuid4()
    # each session's answer names its own step, so a draft made of another's answer shows
    keys = {uuid4(): f"s{i}" for i in range(SESSIONS)}
    markers = {s: f"[rd-{uuid4().hex[:8]}]" for s in keys}
    await scripted(gw, tenant, [{"match": markers[s], "json": plan(tool(keys[s]))} for s in keys])
    sent = deliveries(rng, [completed(tenant, user, s, markers[s]) for s in keys])
    assert len(sent) > SESSIONS  # the seed repeats something
    await send(service.kafka, DISCOVERY_SESSIONS_V1, sent)
    drafts = {s: await draft_of(service, tenant, s) for s in keys}
    await taken(service, "planning.discovery-sessions", DISCOVERY_SESSIONS_V1)

    calls = await service.owner_sql(
        "SELECT request_id FROM llm_calls WHERE tenant_id = :t", t=tenant
    )
    requests = {r[0] for r in calls}
    assert len(calls) == len(requests) == SESSIONS, calls
    answers = await answers_to(service.kafka, requests)
    assert sorted(a.payload.request_id for a in answers) == sorted(requests)
    again = deliveries(rng, answers)
    await send(service.kafka, LLM_RESPONSES_PLANNING_V1, again)
    await taken(service, "planning.responses", LLM_RESPONSES_PLANNING_V1)
    inboxed = await service.owner_sql(
        "SELECT count(*) FROM inbox WHERE consumer = 'planning.responses' AND event_id = ANY(:ids)",
        ids=list({a.id for a in again}),
    )
    assert inboxed[0][0] == len({a.id for a in again})  # every copy was taken, none skipped

    for session in keys:
        draft = await draft_of(service, tenant, session)
        assert draft["plan_id"] == drafts[session]["plan_id"], (draft, drafts[session])
        assert draft["state"] == "drafted", draft
        stored = await version_one(service, tenant, draft["plan_id"])
        steps = stored["plan"]["phases"][0]["steps"]
        assert [s["key"] for s in steps] == [keys[session]], (session, steps)
    sessions = {str(s): 1 for s in keys}
    assert (
        await per_session(
            service,
            "SELECT session_id, count(*) FROM drafts WHERE tenant_id = :t GROUP BY session_id",
            tenant,
        )
        == sessions
    )
    assert (
        await per_session(
            service,
            "SELECT d.session_id, count(*) FROM llm_calls c JOIN drafts d ON d.id = c.draft_id "
            "WHERE c.tenant_id = :t GROUP BY d.session_id",
            tenant,
        )
        == sessions
    )
    assert (
        await per_session(
            service,
            "SELECT p.source_id, count(*) FROM plans p JOIN plan_versions v ON v.plan_id = p.id "
            "WHERE p.tenant_id = :t GROUP BY p.source_id",
            tenant,
        )
        == sessions
    )
    events: list[dict[str, Any]] = await drafted_events(service, tenant)
    assert Counter(e["payload"]["source"]["id"] for e in events) == sessions
    assert {e["payload"]["plan"]["plan_id"] for e in events} == {
        d["plan_id"] for d in drafts.values()
    }
