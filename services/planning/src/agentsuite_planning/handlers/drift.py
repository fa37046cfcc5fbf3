"""Requirement drift: discovery contradicted or revised a requirement an approved plan
version cites -> the plan is stale (`planning.plan.stale`) until a version is approved
again.

`record_approval` is what plan-service's approve handler calls in its unit of work: the
approved version's requirements become the plan's citations (and its staleness clears).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import groupby
from uuid import UUID

from agentsuite_contracts.discovery import ExtractionRecorded, Relation
from agentsuite_contracts.envelope import Envelope, Payload
from agentsuite_contracts.planning import PlanStale, PlanStaleCause, Requirement
from agentsuite_kit.messaging.consistency import check_envelope
from agentsuite_planning.handlers.feeds import Handler
from agentsuite_planning.uow import PlanningUow

DRIFTS = frozenset({Relation.CONTRADICTS, Relation.REVISES})


async def record_approval(
    uow: PlanningUow, plan_id: UUID, version: int, requirements: Sequence[Requirement]
) -> None:
    """Call from the approve handler, in its unit of work (before it commits)."""
    await uow.citations.record(plan_id, version, requirements)


async def extraction_recorded(event: Envelope[ExtractionRecorded], uow: PlanningUow) -> None:
    check_envelope(event)
    p = event.payload
    if not p.applied or p.relation not in DRIFTS:
        # a rejected value changed nothing; `new`/`confirms` leave the cited value standing
        return
    drifted = await uow.citations.drift(p.session_id, p.obligation, p.extraction_id, p.supersedes)
    for (plan_id, version), items in groupby(drifted, key=lambda d: (d.plan_id, d.version)):
        causes = [
            PlanStaleCause(
                requirement=d.requirement,
                session_id=d.session_id,
                extraction_id=p.extraction_id,
                relation=p.relation.value,
            )
            for d in items
        ]
        plan = await uow.plans.get(plan_id, lock=True)
        # the plan row says stale only while the version drifted is its approved one (an
        # approval that raced this event recorded newer citations: nothing matched then)
        if plan is not None and plan.approved_version == version and not plan.stale:
            await uow.plans.change(plan_id, stale=True)
        uow.emit(PlanStale(plan_id=plan_id, version=version, causes=causes))


SESSIONS: Mapping[type[Payload], Handler] = {ExtractionRecorded: extraction_recorded}
