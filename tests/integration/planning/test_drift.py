"""Requirement drift through the real broker: discovery contradicts or revises a
requirement an approved version cites -> the plan is stale and one `planning.plan.stale`
goes out through the outbox, however often the extraction is delivered; anything else
(a confirmation, a rejected value, another tenant's session) changes nothing."""

from __future__ import annotations

import random
from typing import Any
from uuid import UUID, uuid4

import pytest

from agentsuite_contracts.discovery import ExtractionKind, ExtractionRecorded, Relation
from agentsuite_contracts.envelope import Envelope
from agentsuite_contracts.planning import PlanStale, Requirement
from agentsuite_contracts.topic_names import DISCOVERY_SESSIONS_V1
from agentsuite_planning.handlers.drift import record_approval
from tests.integration.planning.feeds_support import applied, at, dead_letter, deliveries, envelope
from tests.integration.planning.harness import Service, auth, send
from tests.integration.planning.plans_support import body, step

pytestmark = pytest.mark.integration
GROUP = "planning.drift"


def extraction(
    session: UUID,
    obligation: str,
    relation: Relation,
    supersedes: UUID | None = None,
    *,
    applied: bool = True,
) -> ExtractionRecorded:
    return ExtractionRecorded(
        session_id=session,
        extraction_id=uuid4(),
        turn_id=uuid4(),
        obligation=obligation,
        value="new value",
        confidence=0.9,
        kind=ExtractionKind.FACT,
        relation=relation,
        supersedes=supersedes,
        applied=applied,
    )


async def approve(
    service: Service, tenant: UUID, plan: UUID, version: int, requirements: list[Requirement]
) -> None:
    async with service.deps.runtime.uow(tenant) as uow:
        await record_approval(uow, plan, version, requirements)
        await uow.commit()


async def stale_events(service: Service, tenant: UUID, plan: UUID) -> list[PlanStale]:
    rows = await service.owner_sql(
        "SELECT value FROM outbox WHERE tenant_id = :t AND type = 'planning.plan.stale' "
        "AND key = :k ORDER BY id",
        t=tenant,
        k=str(plan),
    )
    return [Envelope[PlanStale].model_validate_json(bytes(r[0])).payload for r in rows]


async def is_stale(service: Service, tenant: UUID, plan: UUID) -> bool:
    async with service.deps.runtime.uow(tenant) as uow:
        return await uow.citations.stale(plan)


@pytest.mark.parametrize("seed", [11, 404])
async def test_a_contradicted_requirement_makes_the_plan_stale_once(
    service: Service, seed: int
) -> None:
    rng = random.Random(seed)  # noqa: S311 - reproducible delivery orders, not secrets
    tenant, other = uuid4(), uuid4()
    session, plan, untouched = uuid4(), uuid4(), uuid4()
    budget, deadline = uuid4(), uuid4()
    await approve(
        service,
        tenant,
        plan,
        3,
        [
            Requirement(key="budget", session_id=session, extraction_id=budget),
            Requirement(key="deadline", session_id=session, extraction_id=deadline),
            Requirement(key="by_hand"),
        ],
    )
    await approve(
        service,
        tenant,
        untouched,
        1,
        [Requirement(key="tone", session_id=session, extraction_id=uuid4())],
    )
    contradiction = extraction(session, "budget", Relation.CONTRADICTS, budget)
    events = [
        envelope("discovery", contradiction, tenant, at(1)),
        # leave a cited value standing: confirmed, new elsewhere, or a rejected revision
        envelope("discovery", extraction(session, "tone", Relation.CONFIRMS), tenant, at(2)),
        envelope("discovery", extraction(session, "scope", Relation.NEW), tenant, at(3)),
        envelope(
            "discovery",
            extraction(session, "tone", Relation.REVISES, applied=False),
            tenant,
            at(4),
        ),
        # another tenant's session of the same id contradicting the same key
        envelope("discovery", extraction(session, "deadline", Relation.REVISES), other, at(5)),
    ]
    sent = deliveries(rng, events)
    await send(service.kafka, DISCOVERY_SESSIONS_V1, sent)
    await applied(service, GROUP, sent)

    [stale] = await stale_events(service, tenant, plan)
    assert (stale.plan_id, stale.version) == (plan, 3)
    assert [(c.requirement, c.extraction_id, c.relation) for c in stale.causes] == [
        ("budget", contradiction.extraction_id, "contradicts")
    ]
    assert await is_stale(service, tenant, plan)
    assert not await is_stale(service, tenant, untouched)
    assert await stale_events(service, tenant, untouched) == []
    assert await stale_events(service, other, plan) == []


async def test_a_revision_by_obligation_then_reapproval_clears(service: Service) -> None:
    tenant, session, plan = uuid4(), uuid4(), uuid4()
    cited = uuid4()
    await approve(
        service,
        tenant,
        plan,
        1,
        [Requirement(key="deadline", session_id=session, extraction_id=cited)],
    )
    # the value the approved version cites set by this very extraction is no drift
    same: Any = extraction(session, "deadline", Relation.REVISES)
    same = same.model_copy(update={"extraction_id": cited})
    # a revision that names no superseded extraction: the obligation's key matches
    revised = extraction(session, "deadline", Relation.REVISES)
    first = [
        envelope("discovery", same, tenant, at(1)),
        envelope("discovery", revised, tenant, at(2)),
    ]
    await send(service.kafka, DISCOVERY_SESSIONS_V1, first)
    await applied(service, GROUP, first)
    [stale] = await stale_events(service, tenant, plan)
    assert [c.extraction_id for c in stale.causes] == [revised.extraction_id]

    # approving again (citing the revised value) clears it; the old contradiction again
    # (a redelivery in a new envelope) is no drift of the new version
    await approve(
        service,
        tenant,
        plan,
        2,
        [Requirement(key="deadline", session_id=session, extraction_id=revised.extraction_id)],
    )
    assert not await is_stale(service, tenant, plan)
    again = [revised_again := envelope("discovery", revised, tenant, at(2))]
    await send(service.kafka, DISCOVERY_SESSIONS_V1, again)
    await applied(service, GROUP, again)
    assert revised_again.payload.extraction_id == revised.extraction_id
    assert not await is_stale(service, tenant, plan)
    assert len(await stale_events(service, tenant, plan)) == 1


async def test_a_poison_extraction_is_dead_lettered(service: Service) -> None:
    tenantless = envelope("discovery", extraction(uuid4(), "x", Relation.CONTRADICTS), None, at(1))
    await send(service.kafka, DISCOVERY_SESSIONS_V1, [tenantless])
    letter = await dead_letter(service, GROUP, tenantless.id)
    assert letter.reason == "invalid"


async def test_the_plan_row_turns_stale_and_reapproval_clears_it(service: Service) -> None:
    tenant, session, cited = uuid4(), uuid4(), uuid4()
    requirement = {"key": "budget", "session_id": str(session), "extraction_id": str(cited)}
    plan = body(step("a", ms=10)) | {"requirements": [requirement]}
    made = await service.client.post("/v1/plans", json=plan, headers=auth(tenant))
    assert made.status_code == 201, made.text
    plan_id = UUID(made.json()["id"])
    r = await service.client.post(
        f"/v1/plans/{plan_id}/versions/1/approve", json={}, headers=auth(tenant)
    )
    assert r.status_code == 200, r.text
    # what the approve handler does in its unit of work
    await approve(service, tenant, plan_id, 1, [Requirement.model_validate(requirement)])

    sent = [
        envelope("discovery", extraction(session, "budget", Relation.REVISES, cited), tenant, at(1))
    ]
    await send(service.kafka, DISCOVERY_SESSIONS_V1, sent)
    await applied(service, GROUP, sent)
    got = await service.client.get(f"/v1/plans/{plan_id}", headers=auth(tenant))
    assert got.json()["stale"] is True
    assert [s.version for s in await stale_events(service, tenant, plan_id)] == [1]
